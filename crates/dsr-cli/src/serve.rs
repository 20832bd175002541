//! `dsr serve` (the portal HTTP API) and `dsr token` (its bearer tokens).

use anyhow::{Context, Result, bail};
use dsr_engine::control::ControlDb;
use dsr_engine::portal::Scope;
use dsr_server::{AppState, ServerOptions};
use std::path::Path;
use std::process::ExitCode;

/// `dsr serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    max_body_bytes: usize,
    /// Lease time of on-demand runs, in seconds.
    #[arg(long, default_value_t = 600)]
    run_lease_secs: u64,
    /// Judge every clock at this fixed time (RFC 3339): for tests and rehearsals.
    #[arg(long, hide = true)]
    now: Option<String>,
    /// How often DRP status changes are looked for and callbacks delivered, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    callback_interval_ms: u64,
    /// Accept http:// DRP status callback URLs (tests and rehearsals only).
    #[arg(long, hide = true)]
    drp_insecure_callbacks: bool,
}

/// `dsr token …`.
#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a bearer token and print it once (only its hash is stored).
    Create {
        /// `portal` submits and reads requests; `admin` may also start runs and extend deadlines.
        #[arg(long, value_parser = ["portal", "admin"])]
        scope: String,
        /// A label to recognise the token by (not a secret).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token by its id (`tok_…`).
    Revoke {
        /// Token id.
        id: String,
    },
}

/// Runs `dsr serve` until SIGTERM or Ctrl-C; on-demand runs in progress are finished first.
pub async fn serve(config_dir: &Path, args: ServeArgs) -> Result<ExitCode> {
    let config = dsr_engine::load::load_config(config_dir)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let now = match &args.now {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .context("--now must be an RFC 3339 time")?
                .to_utc(),
        ),
    };
    if args.max_body_bytes < 1024 {
        bail!("--max-body-bytes must be at least 1024");
    }
    let options = ServerOptions {
        max_body_bytes: args.max_body_bytes,
        now,
        run_lease: std::time::Duration::from_secs(args.run_lease_secs.max(10)),
        callback_interval: std::time::Duration::from_millis(args.callback_interval_ms.max(100)),
        drp_insecure_callbacks: args.drp_insecure_callbacks,
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    let state = AppState::new(config, control.clone(), options);
    dsr_server::serve(listener, state, shutdown_signal()).await?;
    control.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    crate::worker::shutdown().await;
    tracing::info!("shutting down");
}

/// Runs `dsr token …`.
pub async fn token(config_dir: &Path, command: TokenCommand) -> Result<ExitCode> {
    let config = dsr_engine::load::load_config(config_dir)?;
    let control = ControlDb::open(&config.settings.control_db).await?;
    let code = match command {
        TokenCommand::Create { scope, label } => {
            let scope = Scope::parse(&scope).context("--scope must be portal or admin")?;
            if label.len() > 100 || label.chars().any(char::is_control) {
                bail!("--label must be at most 100 printable characters");
            }
            let t = control.create_token(scope, &label).await?;
            eprintln!(
                "token {} ({}) created; it is shown once, only its hash is kept:",
                t.id,
                scope.key()
            );
            println!("{}", t.token);
            ExitCode::SUCCESS
        }
        TokenCommand::Revoke { id } => {
            if !control.revoke_token(&id).await? {
                bail!("no live token with id {id}");
            }
            eprintln!("token {id} revoked");
            ExitCode::SUCCESS
        }
    };
    control.close().await;
    Ok(code)
}
