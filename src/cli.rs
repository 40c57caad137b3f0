//! The command line: `rota serve` (the default), `migrate`, `user create`,
//! `user invite`, `user reset-password`, `token create`, `import`, `demo`,
//! `healthcheck`, `extend-schedules`, `export` and `restore`.

pub mod accounts;
mod backup;
pub mod import;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::ops::tokens::{NewTokenInput, create_personal_token};
use crate::ops::users::{NewUserInput, create_user};
use crate::startup::{Application, shutdown_signal};
use crate::{db, demo, telemetry};

#[derive(Parser)]
#[command(
    name = "rota",
    version = crate::VERSION,
    about = "A self-hosted on-call rota that looks after the people on call"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web pages and the API (the default).
    Serve {
        /// Create the demo organisation first, if it is not there yet.
        #[arg(long)]
        demo: bool,
    },
    /// Create the database if missing and apply migrations.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage personal API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Bring a weekly schedule over from another tool: the JSON its API
    /// returns (see the README, "Moving from PagerDuty, Opsgenie or Grafana
    /// OnCall"). Prints what it did; exits non-zero, changing nothing, when
    /// the file has problems or the rotation exists.
    Import {
        /// pagerduty, opsgenie or grafana-oncall.
        #[arg(value_parser = ["pagerduty", "opsgenie", "grafana-oncall"])]
        vendor: String,
        /// The bundle of API responses; - reads standard input.
        file: std::path::PathBuf,
        /// The short name of the team whose rotation it becomes.
        #[arg(long)]
        team: String,
        /// The rotation's short name; by default made from the schedule's name.
        #[arg(long)]
        rotation: Option<String>,
        /// Show what would happen and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// If the rotation exists, replace its people and handoff from its
        /// next handoff (otherwise the import is refused).
        #[arg(long)]
        merge: bool,
    },
    /// Create a believable demo organisation and print how to sign in.
    Demo,
    /// Exit 0 when the local server answers /healthz (for container checks).
    Healthcheck,
    /// Run the hourly schedule job once: extend every rotation to the
    /// horizon and tidy (what `serve` does every hour).
    ExtendSchedules,
    /// Write the whole organisation (teams, people, rotations, shifts,
    /// changes, pages, recovery days, handoffs…) as one JSON document. It
    /// holds password and token hashes: keep it as safe as a database backup.
    Export {
        /// Write here instead of to standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    /// Restore a `rota export` document into the empty (or missing)
    /// database DATABASE_URL names; `-` reads standard input.
    Restore {
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account; the password comes from ROTA_PASSWORD or a prompt.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin: bool,
        #[arg(long)]
        timezone: Option<String>,
    },
    /// Invite a person: prints the single-use link (valid 7 days) to pass
    /// on; they set their name, time zone and password from it.
    Invite {
        #[arg(long)]
        email: String,
        /// The short name of the team they join.
        #[arg(long)]
        team: Option<String>,
        /// member (the default) or manager.
        #[arg(long)]
        role: Option<String>,
    },
    /// Print a single-use link (valid 1 hour) to set a new password, or,
    /// when ROTA_PASSWORD is set, set that password at once. Either way
    /// every session of the account ends; API tokens keep working.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new personal API token, alone, once.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "command line")]
        label: String,
        /// Allow only reads (GET, HEAD, OPTIONS) with it.
        #[arg(long)]
        read_only: bool,
        /// Stop accepting it after this many days (1 to 3650); by default it
        /// works until revoked.
        #[arg(long, value_name = "N")]
        expires_days: Option<u32>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    telemetry::init();
    let settings = Settings::from_env()?;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo: with_demo } => {
            if with_demo && !crate::config::is_loopback_url(&settings.base_url) {
                eprintln!("{}", demo_warning(&settings.base_url));
                tracing::warn!(base_url = %settings.base_url, "serving the demo, whose accounts share a published password, beyond this machine");
            }
            let app = Application::build(settings).await?;
            if with_demo {
                demo::print_sign_in(
                    &demo::create(&app.state().db, app.state().clock.now()).await?,
                    &app.state().settings.base_url,
                );
            }
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            db::connect(&settings.database(), 2).await?;
            eprintln!("The database is up to date.");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    name,
                    admin,
                    timezone,
                },
        } => {
            let pool = db::connect(&settings.database(), 2).await?.db;
            let password = read_password()?;
            let mut conn = pool.acquire().await?;
            let input = NewUserInput {
                email: &email,
                name: &name,
                timezone: timezone.as_deref(),
                password: Some(&password),
                is_admin: admin,
            };
            let user = create_user(&mut conn, input)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("Created {}{}.", user.email, if user.is_admin { " (admin)" } else { "" });
            Ok(())
        }
        Command::User {
            command: UserCommand::Invite { email, team, role },
        } => {
            let pool = db::connect(&settings.database(), 2).await?.db;
            let now = chrono::Utc::now();
            let link =
                accounts::invite(&pool, &settings.base_url, &email, team.as_deref(), role.as_deref(), now).await?;
            println!("{link}");
            Ok(())
        }
        Command::User {
            command: UserCommand::ResetPassword { email },
        } => {
            let pool = db::connect(&settings.database(), 2).await?.db;
            let password = std::env::var("ROTA_PASSWORD").ok().filter(|p| !p.is_empty());
            let now = chrono::Utc::now();
            match accounts::reset_password(&pool, &settings.base_url, &email, password.as_deref(), now).await? {
                accounts::Reset::Link(link) => println!("{link}"),
                accounts::Reset::Set(email) => {
                    eprintln!(
                        "Set a new password for {email}; every session of the account has ended (API tokens still work)."
                    )
                }
            }
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    email,
                    label,
                    read_only,
                    expires_days,
                },
        } => {
            let pool = db::connect(&settings.database(), 2).await?.db;
            let mut conn = pool.acquire().await?;
            let user = db::users::by_email(&mut conn, &email)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no account for {email}; create it with `rota user create`"))?;
            let input = NewTokenInput {
                label: &label,
                read_only,
                expires_in_days: expires_days,
            };
            let token = create_personal_token(&mut conn, user.id, input, chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Import {
            vendor,
            file,
            team,
            rotation,
            dry_run,
            merge,
        } => {
            let text = read_file(&file)?;
            let pool = db::connect(&settings.database(), 2).await?.db;
            let args = import::Args {
                vendor: &vendor,
                text: &text,
                team: &team,
                rotation: rotation.as_deref(),
                dry_run,
                merge,
            };
            match import::import(&pool, &settings.base_url, args, chrono::Utc::now()).await {
                Ok(report) => {
                    println!("{report}");
                    Ok(())
                }
                Err(problems) => {
                    eprintln!("{problems}");
                    std::process::exit(1);
                }
            }
        }
        Command::Demo => {
            let pool = db::connect(&settings.database(), 2).await?.db;
            let demo = demo::create(&pool, chrono::Utc::now()).await?;
            demo::print_sign_in(&demo, &settings.base_url);
            Ok(())
        }
        Command::Healthcheck => healthcheck(settings.listen.port()).await,
        Command::ExtendSchedules => {
            // Its lock is session-level: over the direct connection.
            // One for the lock, the rest for rotations extended side by side.
            let pools = db::connect(&settings.database(), 4).await?;
            match crate::jobs::extend_schedules_on(&pools.direct, &pools.db, chrono::Utc::now()).await? {
                Some(n) => println!("{n} shifts written"),
                None => println!("another process is extending schedules"),
            }
            Ok(())
        }
        Command::Export { output } => backup::export(&settings, output).await,
        Command::Restore { file } => backup::restore(&settings, &file).await,
    }
}

/// Said loudly when `--demo` serves an address others can reach.
fn demo_warning(base_url: &str) -> String {
    let rule = "!".repeat(72);
    format!(
        "{rule}\nWARNING: --demo creates accounts (one of them an admin) whose password is\n\
         published in Rota's README, and ROTA_BASE_URL={base_url} is not a loopback\n\
         address. Anyone who can reach this server can sign in as an admin.\n\
         Use --demo only on your own machine; for a real install, drop --demo.\n{rule}"
    )
}

/// A file's text, or standard input's for `-`.
fn read_file(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text)?;
    } else {
        text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}; give the path of the JSON file", path.display()))?;
    }
    Ok(text)
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("ROTA_PASSWORD") {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("set ROTA_PASSWORD, or run this in a terminal to be asked for the password");
    }
    let first = rpassword::prompt_password("Password (at least 12 characters, hard to guess): ")?;
    let again = rpassword::prompt_password("Again: ")?;
    if first != again {
        anyhow::bail!("the two passwords differ; nothing was created");
    }
    Ok(first)
}

/// A plain HTTP/1.1 GET, so the runtime image needs no curl.
async fn healthcheck(port: u16) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await?;
    if buf.starts_with(b"HTTP/1.1 200") {
        Ok(())
    } else {
        anyhow::bail!("unhealthy")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_create_takes_read_only_and_an_expiry() {
        let cli = Cli::try_parse_from([
            "rota",
            "token",
            "create",
            "--email",
            "ana@example.com",
            "--read-only",
            "--expires-days",
            "30",
        ])
        .expect("parses");
        let Some(Command::Token {
            command:
                TokenCommand::Create {
                    read_only,
                    expires_days,
                    label,
                    ..
                },
        }) = cli.command
        else {
            panic!("not token create");
        };
        assert!(read_only);
        assert_eq!(expires_days, Some(30));
        assert_eq!(label, "command line");
    }

    #[test]
    fn import_takes_a_vendor_a_file_and_a_team() {
        let cli = Cli::try_parse_from([
            "rota",
            "import",
            "opsgenie",
            "payments.json",
            "--team",
            "payments",
            "--dry-run",
        ])
        .expect("parses");
        let Some(Command::Import {
            vendor,
            team,
            dry_run,
            merge,
            rotation,
            ..
        }) = cli.command
        else {
            panic!("not import");
        };
        assert_eq!(
            (vendor.as_str(), team.as_str(), dry_run, merge, rotation),
            ("opsgenie", "payments", true, false, None)
        );
        assert!(
            Cli::try_parse_from(["rota", "import", "splunk", "x.json", "--team", "t"]).is_err(),
            "only the three tools"
        );
        assert!(
            Cli::try_parse_from(["rota", "import", "pagerduty", "x.json"]).is_err(),
            "needs --team"
        );
    }

    #[test]
    fn user_invite_and_reset_password_take_an_address() {
        let cli = Cli::try_parse_from([
            "rota",
            "user",
            "invite",
            "--email",
            "nia@example.com",
            "--team",
            "platform",
        ])
        .expect("parses");
        let Some(Command::User {
            command: UserCommand::Invite { email, team, role },
        }) = cli.command
        else {
            panic!("not user invite");
        };
        assert_eq!(
            (email.as_str(), team.as_deref(), role),
            ("nia@example.com", Some("platform"), None)
        );
        let cli =
            Cli::try_parse_from(["rota", "user", "reset-password", "--email", "nia@example.com"]).expect("parses");
        assert!(matches!(
            cli.command,
            Some(Command::User {
                command: UserCommand::ResetPassword { .. }
            })
        ));
        assert!(
            Cli::try_parse_from(["rota", "user", "reset-password"]).is_err(),
            "needs --email"
        );
    }
}
