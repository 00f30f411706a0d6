//! `robustmq serve`: load settings, start the broker, reload on SIGHUP, run until
//! SIGINT/SIGTERM.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use std::sync::Arc;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter};

use crate::cli::ServeArgs;
use crate::config::{ConfigSource, ListenerSettings, Settings, DEFAULT_CONFIG};
use crate::exit::Exit;
use crate::server;

/// Builds the settings from the configuration [`ConfigSource::locate`] chooses (the same one
/// `robustmq store` reads) and the flags, which take precedence.
pub fn settings(args: &ServeArgs) -> Result<(ConfigSource, Settings), crate::config::ConfigError> {
    let source = ConfigSource::locate(args.config.as_deref());
    let settings = settings_from(&source, args)?;
    Ok((source, settings))
}

/// The settings of `source` with the flags over them: at start, and again on SIGHUP.
fn settings_from(source: &ConfigSource, args: &ServeArgs) -> Result<Settings, crate::config::ConfigError> {
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
    if let Some(level) = &args.log_level {
        settings.server.log_level = level.clone();
    }
    settings.validate()?;
    Ok(settings)
}

/// Sets up logging to stderr with `filter`, unless `RUST_LOG` says otherwise. Returns what
/// changes the filter later (SIGHUP), unless `RUST_LOG` or `--log-level` fixed it.
fn init_logging(filter: &str, fixed: bool) -> Option<server::reload::SetLogFilter> {
    let (filter, fixed) = match EnvFilter::try_from_default_env() {
        Ok(env) => (env, true),
        // Checked with the configuration: an error is not expected here.
        Err(_) => (
            EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info")),
            fixed,
        ),
    };
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()),
        )
        .init();
    if fixed {
        return None;
    }
    Some(Arc::new(move |filter: &str| {
        let filter = EnvFilter::try_new(filter)?;
        Ok(handle.reload(filter)?)
    }))
}

/// A file the configuration names that `--check-config` found unusable.
#[derive(Debug, thiserror::Error)]
enum FileError {
    /// The password or ACL file; its message names the file.
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    /// The certificate or key of a TLS listener.
    #[error("{origin}: listeners[{index}]: {error}")]
    ListenerTls {
        /// The configuration file (or other source).
        origin: String,
        /// The listener's position in it.
        index: usize,
        /// Which file, and what is wrong with it.
        error: server::listener::tls::TlsError,
    },
    /// The TLS files of a bridge.
    #[error("{origin}: {error}")]
    BridgeTls {
        /// The configuration file (or other source).
        origin: String,
        /// The bridge, the file and what is wrong with it.
        error: server::reload::BridgeTlsError,
    },
}

/// Opens the files the configuration names, as the broker will: the password and ACL files,
/// and the certificates and keys of the TLS listeners and bridges. The first problem, naming
/// the file.
fn check_files(source: &ConfigSource, settings: &Settings) -> Result<(), FileError> {
    crate::auth::Auth::load(&settings.auth)?;
    for (index, listener) in settings.listeners.iter().enumerate() {
        if listener.protocol.uses_tls() {
            server::listener::tls::Tls::load(listener).map_err(|error| FileError::ListenerTls {
                origin: source.to_string(),
                index,
                error,
            })?;
        }
    }
    for bridge in &settings.bridges {
        server::reload::check_bridge_tls(bridge).map_err(|error| FileError::BridgeTls {
            origin: source.to_string(),
            error,
        })?;
    }
    Ok(())
}

/// Runs `robustmq serve`.
pub fn run(mut args: ServeArgs) -> ExitCode {
    if args.print_default_config {
        print!("{DEFAULT_CONFIG}");
        return ExitCode::SUCCESS;
    }
    if let Some(level) = &args.log_level {
        if let Err(e) = crate::config::log_filter(level) {
            eprintln!("robustmq: invalid --log-level: {e}");
            return ExitCode::from(Exit::Usage);
        }
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
        // The files the configuration names are part of it: check them too.
        if let Err(e) = check_files(&source, &settings) {
            eprintln!("robustmq: {e}");
            return ExitCode::from(Exit::Usage);
        }
        println!("{source}: configuration is valid");
        return ExitCode::SUCCESS;
    }
    let log_filter = init_logging(&settings.server.log_level, args.log_level.is_some());
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
    match runtime.block_on(serve(settings, source, args, log_filter)) {
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

async fn serve(
    settings: Settings,
    source: ConfigSource,
    args: ServeArgs,
    log_filter: Option<server::reload::SetLogFilter>,
) -> Result<()> {
    let running = server::start(&settings).await?;
    let reloader = running.reloader();
    if let Some(set) = log_filter {
        reloader.set_log_filter(set);
    }
    reload_on_sighup(reloader, source.clone(), args);
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

/// Reloads the configuration on each SIGHUP, for as long as the process runs: the same file
/// (or the same defaults) with the same flags over it as at start.
fn reload_on_sighup(reloader: server::Reloader, source: ConfigSource, args: ServeArgs) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => {
                tokio::spawn(async move {
                    let name = source.to_string();
                    while hup.recv().await.is_some() {
                        tracing::info!("SIGHUP: reloading {name}");
                        reloader.reload(settings_from(&source, &args), &name).await;
                    }
                });
            }
            Err(e) => tracing::warn!("cannot listen for SIGHUP, reloading is off: {e}"),
        }
    }
    #[cfg(not(unix))]
    drop((reloader, source, args));
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
