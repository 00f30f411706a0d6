//! Arguments of `robustmq certs init`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::exit;

/// `robustmq certs`.
#[derive(Debug, Args)]
pub struct CertsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CertsCommand,
}

/// The `robustmq certs` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write DIR/ca.crt, ca.key, server.crt, server.key, client.crt and client.key (keys mode
    /// 0600), signed by the new CA, and print a listener configuration that uses them.
    #[command(after_long_help = exit::help("certs init"))]
    Init(CertsInitArgs),
}

/// `robustmq certs init`.
#[derive(Debug, Args)]
pub struct CertsInitArgs {
    /// Directory for the files (created if missing). Existing files are never replaced
    /// without --force.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// DNS name the server certificate is valid for; repeatable [default: localhost and this
    /// machine's host name].
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
    /// IP address the server certificate is valid for; repeatable [default: 127.0.0.1 and ::1].
    #[arg(long = "ip", value_name = "ADDR")]
    pub ips: Vec<std::net::IpAddr>,
    /// Common Name of the client certificate (its user name with use_identity_as_username).
    #[arg(long, value_name = "NAME", default_value = "robustmq-client")]
    pub client_name: String,
    /// Days the certificates are valid.
    #[arg(long, value_name = "DAYS", default_value_t = 825, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: u32,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
}
