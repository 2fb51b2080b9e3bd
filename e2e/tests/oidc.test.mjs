// The OpenID Connect provider against panva's openid-client (the OpenID-certified
// relying-party library): discovery, code + PKCE with its strict checks (iss in the
// response, at_hash, nonce, signature from the JWKS), userinfo, refresh, revocation and
// RP-initiated logout, against the release server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { BINARY, PASSWORD, startServer } from './harness.mjs';

const KEY = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';
const CALLBACK = 'http://127.0.0.1:9/cb';
const BYE = 'http://127.0.0.1:9/bye';

/** A cookie jar over fetch, for the person signing in. */
function browser(base) {
  const jar = new Map();
  const remember = (res) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const [name, ...v] = pair.split('=');
      if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) jar.delete(name.trim());
      else jar.set(name.trim(), v.join('='));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    async get(url) {
      const res = await fetch(new URL(url, base), { redirect: 'manual', headers: { cookie: cookie() } });
      remember(res);
      return res;
    },
    async post(url, form) {
      const res = await fetch(new URL(url, base), {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded', origin: base },
        body: new URLSearchParams(form).toString(),
      });
      remember(res);
      return res;
    },
  };
}

async function csrf(res) {
  const html = await res.text();
  return html.match(/name="csrf_token" value="([^"]+)"/)[1];
}

test('openid-client signs in, reads userinfo, refreshes, revokes and signs out', async () => {
  const rsa = spawnSync(BINARY, ['generate-key', '--alg', 'RS256'], { encoding: 'utf8' });
  assert.equal(rsa.status, 0, rsa.stderr);
  const keys = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-key-'));
  const keyFile = join(keys, 'rsa.pem');
  writeFileSync(keyFile, rsa.stdout, { mode: 0o600 });
  const s = await startServer({
    public_url: (base) => base,
    jwt_keys: `[{kid="k1",secret="${KEY}"},{kid="rsa1",alg="RS256",private_key_file="${keyFile}"}]`,
  });
  try {
    await s.createUser('alice');
    const out = await s.run([
      'create-client', 'openid-client',
      '--redirect-uri', CALLBACK,
      '--post-logout-redirect-uri', BYE,
      '--trusted',
    ]);
    const clientId = out.match(/^client_id: (.+)$/m)[1];
    const clientSecret = out.match(/^client_secret: (.+)$/m)[1];

    const config = await oidc.discovery(new URL(s.base), clientId, clientSecret, undefined, {
      execute: [oidc.allowInsecureRequests],
    });
    assert.equal(config.serverMetadata().issuer, s.base);

    // The person signs in at Gatehouse, then the authorization goes through.
    const b = browser(s.base);
    const token = await csrf(await b.get('/login'));
    const login = await b.post('/login', { username: 'alice', password: PASSWORD, csrf_token: token });
    assert.equal(login.status, 303);

    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: 'openid profile email groups offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const answer = await b.get(url.href);
    assert.equal(answer.status, 303);
    const back = new URL(answer.headers.get('location'));
    assert.equal(back.origin + back.pathname, CALLBACK);

    const tokens = await oidc.authorizationCodeGrant(config, back, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.equal(claims.preferred_username, 'alice');
    assert.deepEqual(claims.groups, []);
    assert.ok(claims.sid && claims.auth_time && claims.at_hash);

    const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.preferred_username, 'alice');

    const renewed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(renewed.refresh_token, tokens.refresh_token);
    assert.equal(renewed.claims().sub, claims.sub);
    assert.equal(renewed.claims().preferred_username, 'alice');

    // Revocation: the refresh token and the access tokens of its family stop at once.
    await oidc.tokenRevocation(config, renewed.refresh_token);
    await assert.rejects(oidc.refreshTokenGrant(config, renewed.refresh_token));
    await assert.rejects(oidc.fetchUserInfo(config, renewed.access_token, claims.sub));

    // RP-initiated logout with the ID token as hint: signed out, back to the app.
    const end = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token,
      post_logout_redirect_uri: BYE,
      state: 'bye-state',
    });
    const out2 = await b.get(end.href);
    assert.equal(out2.status, 303);
    assert.equal(out2.headers.get('location'), `${BYE}?state=bye-state`);
    const after = await b.get('/dashboard');
    assert.equal(after.status, 303);
    assert.match(after.headers.get('location'), /^\/login/);
  } finally {
    await s.stop();
    rmSync(keys, { recursive: true, force: true });
  }
});
