//! Everything a request may need, built once at ignition and kept in Rocket's state.

use rocket::figment::Figment;

use crate::accounts::password::PasswordHasher;
use crate::accounts::policy::PasswordPolicy;
use crate::accounts::throttle::AddressLimiter;
use crate::accounts::{self, CreatedBy, Creation, Role};
use crate::config::Settings;
use crate::db::Db;
use crate::error::Error;
use crate::sessions::revocations::Revocations;
use crate::sessions::tokens::JwtKeys;
use crate::sessions::{feed, now};
use crate::web::csrf::CsrfKey;
use crate::web::setup::SetupToken;

pub struct App {
    pub settings: Settings,
    pub db: std::sync::Arc<Db>,
    pub keys: JwtKeys,
    pub csrf: CsrfKey,
    pub hasher: PasswordHasher,
    pub policy: PasswordPolicy,
    pub revocations: std::sync::Arc<Revocations>,
    pub setup: SetupToken,
    pub addresses: AddressLimiter,
    pub metrics: crate::metrics::Metrics,
}

impl App {
    /// Reads settings, opens and migrates the database, loads recent revocations.
    /// Blocking: call from a blocking context.
    pub fn start(figment: &Figment) -> Result<App, String> {
        let settings = Settings::from_figment(figment)?;
        let db = Db::open(&settings.database)?;
        let keys = JwtKeys::new(&settings.keys).map_err(|e| e.to_string())?;
        let csrf = settings
            .keys
            .first()
            .map(CsrfKey::derive)
            .ok_or("setting `jwt_keys` is empty")?;
        let hasher = PasswordHasher::new(
            settings.bcrypt_cost,
            settings.hash_workers,
            settings.hash_queue,
        )
        .map_err(|e| e.to_string())?;
        let revocations = Revocations::new(settings.access_token_ttl);
        // Everything ended or changed recently enough to matter, from the change feed.
        let since = now() - revocations.window();
        db.run_blocking(|c| feed::catch_up(c, &revocations, since))
            .map_err(|e| e.to_string())?;
        let policy = PasswordPolicy {
            min_length: settings.password_min_length,
        };
        let addresses = AddressLimiter::new(settings.address_failures, settings.address_window);
        Ok(App {
            addresses,
            metrics: Default::default(),
            settings,
            db: std::sync::Arc::new(db),
            keys,
            csrf,
            hasher,
            policy,
            revocations: std::sync::Arc::new(revocations),
            setup: SetupToken::default(),
        })
    }

    /// When no administrator exists yet, makes the one-time setup token.
    pub fn issue_setup_token_if_needed(&self) -> Result<Option<String>, String> {
        let exists = self
            .db
            .run_blocking(accounts::admin_exists)
            .map_err(|e| e.to_string())?;
        Ok((!exists).then(|| self.setup.issue(now())))
    }

    /// Creates an account from the command line.
    pub fn create_user(
        &self,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<accounts::Account, String> {
        accounts::check_new(&self.policy, username, password, None).map_err(|m| m.text("en"))?;
        let hash = accounts::password::hash_blocking(password, self.settings.bcrypt_cost)
            .map_err(|e| e.to_string())?;
        let now = now();
        self.db
            .run_blocking(|c| {
                crate::db::write_tx(c, |c| {
                    let creation = Creation {
                        username,
                        password_hash: &hash,
                        role,
                        must_change_password: false,
                        event: "account_created",
                        by: CreatedBy::Nobody,
                        ip: "command-line",
                        detail: format!("role {} (gatehouse create-user)", role.as_str()),
                    };
                    Ok::<_, Error>(
                        accounts::create_recorded(c, &creation, now)?
                            .ok_or_else(|| format!("the username {username:?} is taken")),
                    )
                })
            })
            .map_err(|e| e.to_string())?
    }
}
