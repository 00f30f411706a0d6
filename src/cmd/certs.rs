//! `robustmq certs init DIR`: writes a local CA, a server certificate and a client
//! certificate, and prints how to use them.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::certs::{generate, CertOptions};
use crate::cli::{CertsArgs, CertsCommand, CertsInitArgs};
use crate::exit::Exit;

/// Runs `robustmq certs`.
pub fn run(args: CertsArgs) -> ExitCode {
    match args.command {
        CertsCommand::Init(init) => match self::init(&init) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("robustmq certs init: {message}");
                Exit::Failed.into()
            }
        },
    }
}

/// This machine's host name, if it can be read.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()?;
    let name = name.trim();
    (!name.is_empty() && name != "localhost").then(|| name.to_string())
}

/// The options the flags ask for: given names and addresses replace the defaults
/// (localhost and this machine's name; 127.0.0.1 and ::1).
pub fn options(args: &CertsInitArgs) -> CertOptions {
    let hosts = if args.hosts.is_empty() {
        std::iter::once("localhost".to_string())
            .chain(host_name())
            .collect()
    } else {
        args.hosts.clone()
    };
    let ips = if args.ips.is_empty() {
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]
    } else {
        args.ips.clone()
    };
    CertOptions {
        hosts,
        ips,
        client_name: args.client_name.clone(),
        valid_for: Duration::from_secs(u64::from(args.days) * 86_400),
    }
}

/// Why `certs init` wrote nothing, or stopped part way.
#[derive(Debug, thiserror::Error)]
enum CertsError {
    /// `--days 0`.
    #[error("--days must be at least 1")]
    NoDays,
    /// The output directory could not be made.
    #[error("cannot create {}: {error}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A file to write is already there and `--force` was not given.
    #[error("{} exists; nothing was written (--force replaces the files)", path.display())]
    Exists {
        /// The first such file.
        path: PathBuf,
    },
    /// rcgen could not make a key or a certificate.
    #[error("cannot generate the certificates: {0}")]
    Generate(rcgen::Error),
    /// A file could not be opened or written.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
}

/// Writes one file; private keys are readable by their owner only.
fn write(path: &Path, contents: &str, private: bool, force: bool) -> Result<(), CertsError> {
    let mut open = OpenOptions::new();
    open.write(true);
    if force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        open.mode(if private { 0o600 } else { 0o644 });
    }
    let write_error = |error: std::io::Error| CertsError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut file = open.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => CertsError::Exists {
            path: path.to_path_buf(),
        },
        _ => write_error(e),
    })?;
    #[cfg(unix)]
    if force && private {
        // An existing file keeps its old mode through truncate: tighten it.
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    file.write_all(contents.as_bytes()).map_err(write_error)
}

fn init(args: &CertsInitArgs) -> Result<(), CertsError> {
    if args.days == 0 {
        return Err(CertsError::NoDays);
    }
    let options = options(args);
    std::fs::create_dir_all(&args.dir).map_err(|error| CertsError::CreateDir {
        path: args.dir.clone(),
        error,
    })?;
    let files: Vec<PathBuf> = [
        "ca.crt",
        "ca.key",
        "server.crt",
        "server.key",
        "client.crt",
        "client.key",
    ]
    .iter()
    .map(|f| args.dir.join(f))
    .collect();
    if !args.force {
        // All or nothing: never leave a CA that does not match the certificates beside it.
        if let Some(existing) = files.iter().find(|f| f.exists()) {
            return Err(CertsError::Exists {
                path: existing.clone(),
            });
        }
    }
    let g = generate(&options).map_err(CertsError::Generate)?;
    let contents = [
        (&g.ca.cert_pem, false),
        (&g.ca.key_pem, true),
        (&g.server.cert_pem, false),
        (&g.server.key_pem, true),
        (&g.client.cert_pem, false),
        (&g.client.key_pem, true),
    ];
    for (path, (text, private)) in files.iter().zip(contents) {
        write(path, text, private, args.force)?;
    }
    let dir = args.dir.display();
    let names: Vec<String> = options
        .hosts
        .iter()
        .cloned()
        .chain(options.ips.iter().map(IpAddr::to_string))
        .collect();
    println!(
        "wrote {dir}/{{ca,server,client}}.{{crt,key}} (valid {} days)",
        args.days
    );
    println!("server certificate for: {}", names.join(", "));
    println!("client certificate Common Name: {}", options.client_name);
    println!();
    println!("A TLS listener that also checks client certificates, for robustmq.toml:");
    println!();
    println!("[[listeners]]");
    println!("bind = \"0.0.0.0:8883\"");
    println!("protocol = \"mqtts\"");
    println!("cert = \"{dir}/server.crt\"");
    println!("key = \"{dir}/server.key\"");
    println!("client_ca = \"{dir}/ca.crt\"");
    println!("# require_certificate = true");
    println!();
    println!(
        "Then: mosquitto_sub -h {} -p 8883 --cafile {dir}/ca.crt -t '#' -v",
        options.hosts[0]
    );
    println!("  (with --cert {dir}/client.crt --key {dir}/client.key for the client certificate)");
    println!("Keep {dir}/ca.key private: whoever has it can make certificates this broker trusts.");
    Ok(())
}
