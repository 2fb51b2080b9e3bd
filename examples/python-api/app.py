"""An API that trusts Gatehouse's sign-in without asking Gatehouse on each request.

It reads the access JWT from Gatehouse's cookie and verifies it itself against the
public keys Gatehouse publishes (JWKS): the algorithm is the one the key declares (never
the one the token claims), and the issuer, audience and lifetime are checked. Anything
wrong is a 401.

    pip install -r requirements.txt
    GATEHOUSE_URL=https://auth.example.com python app.py
"""

import os

import jwt
from flask import Flask, jsonify, request

GATEHOUSE_URL = os.environ.get("GATEHOUSE_URL", "https://auth.example.com").rstrip("/")
# With `cookie_domain` set, Gatehouse's access cookie reaches every subdomain under this name.
COOKIE = os.environ.get("GATEHOUSE_COOKIE", "__Secure-access")
# Keys are fetched once and kept for five minutes (Gatehouse says as much in Cache-Control).
jwks = jwt.PyJWKClient(f"{GATEHOUSE_URL}/.well-known/jwks.json", cache_keys=True, lifespan=300)

app = Flask(__name__)


def unauthorized(why):
    response = jsonify(error=why)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Cookie realm="gatehouse"'
    return response


@app.get("/protected")
def protected():
    token = request.cookies.get(COOKIE)
    if not token:
        return unauthorized("sign in first")
    try:
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],
            issuer="gatehouse",
            audience="gatehouse",
            leeway=5,
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError:
        return unauthorized("invalid token")
    return jsonify(user=claims["name"], role=claims["role"], groups=claims.get("groups", []))


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
