//! The OpenID Connect provider's use cases (SPEC §11): what its routes and admin pages
//! ask of the domain (`crate::oidc`), one method each. Like every other use case, reads run
//! on the blocking pool and changes go through `App::change`; client authentication and
//! its throttle live here, not in the route.

use crate::accounts::{throttle, Owner};
use crate::error::Result;
use crate::oidc::{self, Actor, AllowedApp, Client, ClientSpec, Redeemed, SessionFacts};

use super::App;

/// An authorization about to be answered with a code (`App::oidc_issue_code`).
pub struct CodeRequest {
    pub client_id: String,
    pub account_id: i64,
    pub session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    /// How the session was signed in (`amr` values, space-separated).
    pub amr: String,
    /// The person just allowed these scopes on the consent page: remember it.
    pub consent: bool,
    pub ip: String,
}

/// A code presented at the token endpoint by an authenticated client.
pub struct CodeRedemption {
    pub client_id: String,
    pub code: String,
    pub redirect_uri: String,
    pub code_verifier: Option<String>,
    pub ip: String,
}

/// What a client presented to authenticate: its id, and its secret unless it is public.
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    pub ip: String,
}

/// How a client authentication went.
pub enum ClientAuth {
    /// The right secret of a confidential client.
    Confidential(Client),
    /// A public client, which has no secret.
    Public(Client),
    /// Wrong, unknown or of the wrong kind (charged to the client and the address).
    Failed,
    /// Too many failures lately (from this address, or against this client with a wrong
    /// secret): seconds to wait.
    Wait(u64),
}

impl App {
    // ---- clients (administrators, the command line) ----

    pub async fn oidc_clients(&self) -> Result<Vec<Client>> {
        self.db.run(oidc::list_clients).await
    }

    pub async fn oidc_client(&self, client_id: String) -> Result<Option<Client>> {
        self.db.run(move |c| oidc::find_client(c, &client_id)).await
    }

    /// Checks a client's settings against the provider's keys and the groups that exist:
    /// the refusal's text, if any.
    pub async fn oidc_check_client(
        &self,
        spec: ClientSpec,
    ) -> Result<(ClientSpec, Option<String>)> {
        let provider = self.oidc.clone();
        self.db
            .run(move |c| {
                let has =
                    |alg: crate::sessions::keys::Alg| provider.as_ref().is_some_and(|p| p.has(alg));
                let refused = spec.check(c, &has).err();
                Ok((spec, refused))
            })
            .await
    }

    /// Registers a client; its secret (confidential clients) is shown once.
    pub async fn oidc_create_client(
        &self,
        spec: ClientSpec,
        owner: Owner,
    ) -> Result<(Client, Option<String>)> {
        let now = self.now();
        self.change(move |c| {
            let actor = Actor::admin(&owner);
            oidc::create_client(c, &spec, &actor, now)
        })
        .await
    }

    pub async fn oidc_update_client(
        &self,
        client_id: String,
        spec: ClientSpec,
        owner: Owner,
    ) -> Result<()> {
        let now = self.now();
        self.change(move |c| {
            let actor = Actor::admin(&owner);
            oidc::update_client(c, &client_id, &spec, &actor, now)
        })
        .await
    }

    /// A new secret for a confidential client (shown once); the old one stops at once.
    pub async fn oidc_rotate_secret(&self, client_id: String, owner: Owner) -> Result<String> {
        let now = self.now();
        self.change(move |c| {
            let actor = Actor::admin(&owner);
            oidc::rotate_secret(c, &client_id, &actor, now)
        })
        .await
    }

    /// Deletes a client, its consents and every token it holds.
    pub async fn oidc_delete_client(&self, client_id: String, owner: Owner) -> Result<()> {
        let now = self.now();
        self.change(move |c| {
            let actor = Actor::admin(&owner);
            oidc::delete_client(c, &client_id, &actor, now)
        })
        .await
    }

    // ---- authorization ----

    /// What a session is, for an authorization request (`None`: ended or expired, or
    /// its account disabled or changed since).
    pub async fn oidc_session_facts(&self, sid: String) -> Result<Option<SessionFacts>> {
        let now = self.now();
        self.db
            .run(move |c| oidc::session_facts(c, &sid, now))
            .await
    }

    /// Whether the account already allowed the client these scopes.
    pub async fn oidc_consented(
        &self,
        account_id: i64,
        client_id: String,
        scope: String,
    ) -> Result<bool> {
        self.db
            .run(move |c| {
                let scopes: Vec<&str> = scope.split(' ').collect();
                oidc::consented(c, account_id, &client_id, &scopes)
            })
            .await
    }

    /// Issues a code, unless the session ended or the account was disabled meanwhile
    /// (`None`); records the consent when one was just given.
    pub async fn oidc_issue_code(&self, r: CodeRequest) -> Result<Option<String>> {
        let now = self.now();
        self.change(move |c| {
            oidc::issue_code(
                c,
                &oidc::NewCode {
                    client_id: &r.client_id,
                    account_id: r.account_id,
                    session_id: &r.session_id,
                    redirect_uri: &r.redirect_uri,
                    scope: &r.scope,
                    nonce: r.nonce.as_deref(),
                    code_challenge: r.code_challenge.as_deref(),
                    auth_time: r.auth_time,
                    amr: &r.amr,
                    consent: r.consent,
                    ip: &r.ip,
                },
                now,
            )
        })
        .await
    }

    // ---- the token endpoint ----

    /// Client authentication (`client_secret_basic`, `client_secret_post`, or none for a
    /// public client), throttled: failures are counted per client (in the database,
    /// across instances) and per address. The client's own wait holds back wrong secrets
    /// only: the app that knows its secret is never refused by what strangers sent
    /// (client ids are public, in every authorize URL), as a correct password never waits
    /// out a stranger's lockout (SPEC §5).
    pub async fn oidc_authenticate_client(&self, creds: ClientCredentials) -> Result<ClientAuth> {
        if let Some(wait) = self.client_auth.wait(&creds.ip) {
            return Ok(ClientAuth::Wait(wait.max(1) as u64));
        }
        let key = format!("oidc-client\n{}", creds.client_id);
        let (limits, now) = (self.settings.throttle, self.now());
        let (client, wait) = {
            let (id, key) = (creds.client_id.clone(), key.clone());
            self.db
                .run(move |c| {
                    Ok((
                        oidc::find_client(c, &id)?,
                        throttle::wait(c, &key, &limits, now)?,
                    ))
                })
                .await?
        };
        let outcome = match (&client, &creds.secret) {
            (Some(c), Some(s)) if !c.public && c.secret_matches(s) => {
                Some(ClientAuth::Confidential(c.clone()))
            }
            (Some(c), None) if c.public => Some(ClientAuth::Public(c.clone())),
            _ => None,
        };
        match (outcome, wait) {
            (Some(a), _) => Ok(a),
            (None, Some(wait)) => Ok(ClientAuth::Wait(wait.max(1) as u64)),
            (None, None) => {
                self.client_auth.record(&creds.ip);
                if client.is_some() {
                    self.db
                        .run(move |c| {
                            crate::db::write_tx(c, |c| throttle::charge(c, &key, &limits, now))
                        })
                        .await?;
                }
                Ok(ClientAuth::Failed)
            }
        }
    }

    /// Redeems a code (single use, 60 seconds, its client, redirect URI and verifier).
    pub async fn oidc_redeem_code(&self, r: CodeRedemption) -> Result<Redeemed> {
        let now = self.now();
        self.change(move |c| {
            oidc::redeem_code(
                c,
                &oidc::Redemption {
                    client_id: &r.client_id,
                    code: &r.code,
                    redirect_uri: &r.redirect_uri,
                    code_verifier: r.code_verifier.as_deref(),
                    ip: &r.ip,
                },
                now,
            )
        })
        .await
    }

    /// The `refresh_token` grant: rotates the family's current token; any other revokes
    /// the family.
    pub async fn oidc_refresh(
        &self,
        client_id: String,
        token: String,
        ip: String,
    ) -> Result<Redeemed> {
        let now = self.now();
        self.change(move |c| oidc::refresh(c, &client_id, &token, &ip, now))
            .await
    }

    /// Revokes an access token of the provider's (by its `jti`).
    pub async fn oidc_revoke_access(&self, jti: String) -> Result<()> {
        let now = self.now();
        self.change(move |c| oidc::revoke_access(c, &jti, now))
            .await
    }

    /// Revokes a refresh token of the client's, and its grant (RFC 7009).
    pub async fn oidc_revoke_refresh(&self, client_id: String, token: String) -> Result<()> {
        let now = self.now();
        self.change(move |c| oidc::revoke_refresh(c, &client_id, &token, now))
            .await
    }

    /// Whether a refresh token is the live current token of one of the client's grants
    /// (introspection).
    pub async fn oidc_refresh_active(
        &self,
        client_id: String,
        token: String,
    ) -> Result<Option<oidc::RefreshFacts>> {
        let now = self.now();
        self.db
            .run(move |c| oidc::refresh_facts(c, &client_id, &token, now))
            .await
    }

    // ---- the account's apps ----

    pub async fn oidc_apps(&self, account_id: i64) -> Result<Vec<AllowedApp>> {
        self.db.run(move |c| oidc::apps_of(c, account_id)).await
    }

    /// The owner revokes an app: its consent ends, and every token it holds for them.
    pub async fn oidc_revoke_app(&self, owner: Owner, client_id: String) -> Result<()> {
        let now = self.now();
        self.change(move |c| oidc::revoke_app(c, &owner, &client_id, now))
            .await
    }
}
