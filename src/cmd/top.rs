//! `robustmq top`: checks the flags and the terminal, then hands over to the dashboard.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::common::{random_client_id, runtime, Failure};
use crate::cli::TopArgs;
use crate::client::ConnectOptions;
use crate::exit::Exit;
use crate::tui::collector;
use crate::tui::ui::Theme;

/// Builds the collector's options from the flags.
pub fn options(args: &TopArgs) -> Result<collector::Options, Failure> {
    let version = args.protocol_version;
    if !version.is_v5() && args.login.password.is_some() && args.login.username.is_none() {
        return Err(Failure::usage(
            "a password (-P) needs a user name (-u) with MQTT 3.1.1",
        ));
    }
    if !(0.1..=3600.0).contains(&args.interval) {
        return Err(Failure::usage("--interval must be between 0.1 and 3600 seconds"));
    }
    let mut connect = ConnectOptions::new(
        args.host.clone(),
        args.port.unwrap_or_else(|| args.tls.default_port()),
        version,
    );
    connect.client_id = Arc::from(args.id.clone().unwrap_or_else(random_client_id));
    connect.keep_alive = args.login.keepalive;
    connect.username = args.login.username.clone().map(Arc::from);
    connect.password = args.login.password.clone().map(Bytes::from);
    // One outstanding request per command at most; a small window is plenty.
    connect.inflight = 16;
    connect.tls = super::common::tls_config(&args.tls, false)?;
    Ok(collector::Options {
        connect,
        interval: Duration::from_secs_f64(args.interval),
    })
}

/// Runs `robustmq top`.
pub fn run(args: TopArgs) -> ExitCode {
    let options = match options(&args) {
        Ok(o) => o,
        Err(f) => return f.exit("top"),
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Failure::new(
            Exit::Failed,
            "needs a terminal: stdin and stdout must be a TTY (for scripts, use `robustmq sub -t '$SYS/#' -v`)",
        )
        .exit("top");
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(f) => return f.exit("top"),
    };
    let target = options.connect.address();
    match rt.block_on(crate::tui::run(options, target, Theme::from_env())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => Failure::new(Exit::Failed, format!("terminal error: {e}")).exit("top"),
    }
}
