//! The command line: serve (default), migrate, create-user, generate-key, backup, restore.

use std::io::Read;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use gatehouse::accounts::Role;

/// Most of a page request's own work is short-lived allocations (request parsing,
/// template context, rendering); mimalloc serves them faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "gatehouse",
    version,
    about = "Password sign-in with JWT cookies and rotating refresh tokens"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print a new private signing key (PKCS#8 PEM) for `jwt_keys`.
    GenerateKey {
        #[arg(long, value_enum)]
        alg: AlgArg,
    },
    /// Copy the live SQLite database into a new file, while the server keeps serving.
    Backup {
        /// The file to write (it must not exist).
        file: std::path::PathBuf,
    },
    /// Replace the SQLite database with a backup (the server must be stopped).
    Restore {
        /// A file made by `gatehouse backup`.
        file: std::path::PathBuf,
    },
    /// Register an OpenID Connect client; prints its client_id (and secret, once).
    CreateClient {
        name: String,
        /// A redirect URI (repeat for each).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uri: Vec<String>,
        /// A post-logout redirect URI (repeat for each).
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uri: Vec<String>,
        /// Where back-channel logout tokens are POSTed.
        #[arg(long = "backchannel-logout-uri")]
        backchannel_logout_uri: Option<String>,
        /// A public client (no secret; PKCE required).
        #[arg(long)]
        public: bool,
        /// A first-party client: no consent page.
        #[arg(long)]
        trusted: bool,
        /// Only members of these groups may sign in to it (repeat for each).
        #[arg(long = "group")]
        group: Vec<String>,
        /// Do not require PKCE (a legacy confidential client).
        #[arg(long = "no-pkce")]
        no_pkce: bool,
        /// The ID-token algorithm.
        #[arg(long, value_enum)]
        alg: Option<AlgArg>,
    },
    /// Create an account, reading its password from standard input.
    CreateUser {
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgArg {
    #[value(name = "EdDSA")]
    EdDsa,
    #[value(name = "ES256")]
    Es256,
    #[value(name = "RS256")]
    Rs256,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    User,
    Admin,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => {
            // Every refusal shows the usage, not only some of clap's.
            let rendered = e.render().to_string();
            eprint!("{rendered}");
            if !rendered.contains("Usage:") {
                eprintln!("\n{}", Cli::command().render_usage());
            }
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::GenerateKey { alg } => {
            use gatehouse::sessions::keys::{generate_pem, Alg};
            let alg = match alg {
                AlgArg::EdDsa => Alg::EdDSA,
                AlgArg::Es256 => Alg::ES256,
                AlgArg::Rs256 => Alg::RS256,
            };
            match generate_pem(alg) {
                Ok(pem) => {
                    print!("{pem}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::CreateClient {
            name,
            redirect_uri,
            post_logout_redirect_uri,
            backchannel_logout_uri,
            public,
            trusted,
            group,
            no_pkce,
            alg,
        } => {
            use gatehouse::sessions::keys::Alg;
            let alg = alg.map(|a| match a {
                AlgArg::EdDsa => Alg::EdDSA,
                AlgArg::Es256 => Alg::ES256,
                AlgArg::Rs256 => Alg::RS256,
            });
            let spec = gatehouse::oidc::ClientSpec {
                name,
                redirect_uris: redirect_uri,
                post_logout_redirect_uris: post_logout_redirect_uri,
                backchannel_logout_uri,
                allowed_groups: group,
                public,
                trusted,
                require_pkce: !no_pkce,
                alg,
            };
            match gatehouse::App::start(&gatehouse::figment())
                .and_then(|app| app.create_client(&spec))
            {
                Ok((client, secret)) => {
                    println!("client_id: {}", client.client_id);
                    if let Some(secret) = secret {
                        println!("client_secret: {secret}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Backup { file } => {
            let done = gatehouse::config::database_url(&gatehouse::figment())
                .and_then(|url| gatehouse::db::backup::backup(&url, &file));
            match done {
                Ok(accounts) => {
                    println!("backed up to {} ({accounts} accounts)", file.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Restore { file } => {
            let figment = gatehouse::figment();
            let done = gatehouse::config::database_url(&figment)
                .and_then(|url| Ok((gatehouse::db::backup::restore(&url, &file)?, url)));
            match done {
                Ok((restored, url)) => {
                    let kept = match &restored.kept {
                        Some(path) => format!(
                            "the previous database is kept beside it as {}",
                            path.display()
                        ),
                        None => "there was no database before".into(),
                    };
                    println!(
                        "restored {} into {} ({} accounts, migrated and checked); {kept}",
                        file.display(),
                        url.redacted(),
                        restored.accounts,
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Migrate => match gatehouse::App::start(&gatehouse::figment()) {
            Ok(_) => {
                println!("migrations applied");
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::CreateUser {
            username,
            role,
            password_stdin: _,
        } => {
            let mut password = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut password) {
                return fail(&format!(
                    "cannot read the password from standard input: {e}"
                ));
            }
            let password = password.strip_suffix('\n').unwrap_or(&password);
            let password = password.strip_suffix('\r').unwrap_or(password);
            let role = match role {
                RoleArg::User => Role::User,
                RoleArg::Admin => Role::Admin,
            };
            let created = gatehouse::App::start(&gatehouse::figment())
                .and_then(|app| app.create_user(&username, role, password));
            match created {
                Ok(a) => {
                    println!(
                        "created {} ({}) with id {}",
                        a.username,
                        role.as_str(),
                        a.id
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

fn serve() -> ExitCode {
    let figment = gatehouse::figment();
    // Before Rocket's own: request lines are logged with secret parameters hidden.
    // (A figment Rocket cannot read is reported by Rocket itself, at launch.)
    let level = rocket::Config::try_from(&figment)
        .map(|c| c.log_level)
        .unwrap_or(rocket::config::LogLevel::Normal);
    gatehouse::web::log::init(level);
    let result = rocket::execute(gatehouse::rocket(figment).launch());
    match result {
        Ok(_) => ExitCode::SUCCESS,
        // The server stopped; Rocket only could not prove every background reference was
        // gone (a race when a stop signal arrives right after start). Nothing is lost:
        // requests were finished and every write is committed.
        Err(e) if matches!(e.kind(), rocket::error::ErrorKind::Shutdown(..)) => {
            eprintln!("warning: stopped; {e}");
            ExitCode::SUCCESS
        }
        // The cause has already been printed by the failing start-up step.
        Err(e) => fail(&format!("the server did not start: {e}")),
    }
}
