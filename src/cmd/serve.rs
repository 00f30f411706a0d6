//! `robustmq serve`: load settings, start the broker, run until SIGINT/SIGTERM.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use tracing_subscriber::EnvFilter;

use crate::cli::ServeArgs;
use crate::config::{ConfigSource, ListenerSettings, Settings, DEFAULT_CONFIG};
use crate::exit::Exit;
use crate::server;

/// Builds the settings from the configuration [`ConfigSource::locate`] chooses (the same one
/// `robustmq store` reads) and the flags, which take precedence.
pub fn settings(args: &ServeArgs) -> Result<(ConfigSource, Settings), crate::config::ConfigError> {
    let source = ConfigSource::locate(args.config.as_deref());
    let mut settings = source.load(args.data_dir.as_deref())?;
    if !args.listen.is_empty() {
        settings.listeners = args
            .listen
            .iter()
            .map(|addr| ListenerSettings {
                bind: Some(*addr),
                ..ListenerSettings::default()
            })
            .collect();
    }
    if args.allow_anonymous {
        for listener in &mut settings.listeners {
            listener.allow_anonymous = Some(true);
        }
    }
    settings.validate()?;
    Ok((source, settings))
}

/// Sets up logging to stderr; `RUST_LOG` wins over `--log-level`.
fn init_logging(level: &str) -> Result<(), String> {
    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) => EnvFilter::try_new(level).map_err(|e| format!("invalid --log-level {level:?}: {e}"))?,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    Ok(())
}

/// Runs `robustmq serve`.
pub fn run(mut args: ServeArgs) -> ExitCode {
    if let Err(e) = init_logging(&args.log_level) {
        eprintln!("robustmq: {e}");
        return ExitCode::from(Exit::Usage);
    }
    if args.print_default_config {
        print!("{DEFAULT_CONFIG}");
        return ExitCode::SUCCESS;
    }
    let check_only = args.check_config.is_some();
    if let Some(Some(file)) = args.check_config.take() {
        args.config = Some(file);
    }
    let (source, settings) = match settings(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("robustmq: {e}");
            return ExitCode::from(Exit::Usage);
        }
    };
    if check_only {
        // The password and ACL files are part of the configuration: check them too.
        if let Err(e) = crate::auth::Auth::load(&settings.auth) {
            eprintln!("robustmq: {e}");
            return ExitCode::from(Exit::Usage);
        }
        println!("{source}: configuration is valid");
        return ExitCode::SUCCESS;
    }
    // Before anything else touches the disk, so that this is the one line the user sees. Under
    // systemd `StateDirectory=` has made it already, with the service's owner.
    let data_dir = &settings.server.data_dir;
    if let Err(e) = crate::config::create_data_dir(data_dir) {
        let from = match args.data_dir {
            Some(_) => "--data-dir".to_string(),
            None => format!("data_dir from {source}"),
        };
        eprintln!(
            "robustmq: cannot create data directory {} ({from}): {e}",
            data_dir.display()
        );
        return ExitCode::from(Exit::DataUnusable);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("robustmq: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::NotStarted);
        }
    };
    match runtime.block_on(serve(settings, source)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("robustmq: {e:#}");
            match e.downcast_ref::<server::ServerError>() {
                Some(server::ServerError::Store(_)) => ExitCode::from(Exit::DataUnusable),
                Some(server::ServerError::Auth(_) | server::ServerError::Tls { .. }) => {
                    ExitCode::from(Exit::Usage)
                }
                _ => ExitCode::from(Exit::NotStarted),
            }
        }
    }
}

async fn serve(settings: Settings, source: ConfigSource) -> Result<()> {
    let running = server::start(&settings).await?;
    reload_on_sighup(running.reloader());
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %source,
        data_dir = %settings.server.data_dir.display(),
        "robustmq started"
    );
    crate::cmd::notify::serving_until(wait_for_signal()).await;
    tracing::info!("shutting down (a second signal exits at once)");
    tokio::spawn(async {
        wait_for_signal().await;
        eprintln!("robustmq: second signal, exiting now");
        std::process::exit(Exit::Interrupted.code().into());
    });
    running.shutdown(Duration::from_secs(5)).await;
    tracing::info!("stopped");
    Ok(())
}

/// Reloads the password and ACL files on each SIGHUP, for as long as the process runs.
fn reload_on_sighup(reloader: server::Reloader) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    while hup.recv().await.is_some() {
                        tracing::info!("SIGHUP: reloading the password and ACL files");
                        reloader.reload();
                    }
                });
            }
            Err(e) => tracing::warn!("cannot listen for SIGHUP, reloading is off: {e}"),
        }
    }
    #[cfg(not(unix))]
    drop(reloader);
}

/// Waits for SIGINT or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
