//! TLS for `mqtts` and `wss` listeners: the server certificate and key, optional client
//! certificates checked against a CA, TLS 1.2 and 1.3 only, and a reload that swaps in new
//! files without touching connections already made.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::ListenerSettings;

/// Why a listener's TLS setup cannot be used: the file and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {detail}")]
pub struct TlsError {
    /// The file at fault (or the certificate and key pair).
    pub file: String,
    /// What is wrong.
    pub detail: String,
}

fn error(file: &Path, detail: impl std::fmt::Display) -> TlsError {
    TlsError {
        file: file.display().to_string(),
        detail: detail.to_string(),
    }
}

/// The files a TLS listener reads, kept to read them again on reload.
#[derive(Debug, Clone)]
struct Files {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
    require_certificate: bool,
}

/// A TLS listener's configuration, swappable while the listener runs.
#[derive(Debug)]
pub struct Tls {
    files: RwLock<Files>,
    config: RwLock<Arc<ServerConfig>>,
    /// Use the client certificate's Common Name as the user name.
    pub identity_as_username: bool,
}

impl Tls {
    /// Reads the listener's certificate, key and client CA.
    pub fn load(settings: &ListenerSettings) -> Result<Tls, TlsError> {
        let TlsFiles { files, config } = TlsFiles::read(settings)?;
        Ok(Tls {
            files: RwLock::new(files),
            config: RwLock::new(Arc::new(config)),
            identity_as_username: settings.use_identity_as_username,
        })
    }

    /// An acceptor with the current configuration.
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = self.config.read().unwrap_or_else(|p| p.into_inner()).clone();
        TlsAcceptor::from(config)
    }

    /// Puts other files in force (SIGHUP with a changed `cert`, `key` or `client_ca`); new
    /// handshakes use them, connections already made keep theirs.
    pub fn install(&self, new: TlsFiles) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new.config);
        *self.files.write().unwrap_or_else(|p| p.into_inner()) = new.files;
    }

    /// The certificate file, for log lines.
    pub fn cert_file(&self) -> PathBuf {
        self.files.read().unwrap_or_else(|p| p.into_inner()).cert.clone()
    }
}

/// A listener's certificate, key and client CA, read and checked, ready for [`Tls::install`].
#[derive(Debug)]
pub struct TlsFiles {
    files: Files,
    config: ServerConfig,
}

impl TlsFiles {
    /// Reads and checks the files a TLS listener's settings name.
    pub fn read(settings: &ListenerSettings) -> Result<TlsFiles, TlsError> {
        let missing = |what: &str| TlsError {
            file: "(none)".into(),
            detail: format!("a TLS listener needs `{what}`"),
        };
        let files = Files {
            cert: settings.cert.clone().ok_or_else(|| missing("cert"))?,
            key: settings.key.clone().ok_or_else(|| missing("key"))?,
            client_ca: settings.client_ca.clone(),
            require_certificate: settings.require_certificate,
        };
        let config = build(&files)?;
        Ok(TlsFiles { files, config })
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| error(path, pem_words(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(path, pem_words(e)))?;
    if certs.is_empty() {
        return Err(error(
            path,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
        ));
    }
    Ok(certs)
}

fn pem_words(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(io) => format!("cannot read: {io}"),
        Error::NoItemsFound => "no PEM item of the expected kind in the file".into(),
        other => format!("not valid PEM: {other:?}"),
    }
}

fn build(files: &Files) -> Result<ServerConfig, TlsError> {
    let provider = provider();
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => error(
            &files.key,
            "no PEM private key (PKCS#8, PKCS#1 or SEC1) in the file",
        ),
        other => error(&files.key, pem_words(other)),
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| error(&files.cert, e))?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots
                    .add(cert)
                    .map_err(|e| error(ca, format!("not a usable CA certificate: {e}")))?;
            }
            let mut verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if !files.require_certificate {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier.build().map_err(|e| error(ca, e))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    builder.with_single_cert(certs, key).map_err(|e| TlsError {
        file: format!("{} and {}", files.cert.display(), files.key.display()),
        detail: format!("cannot be used together: {e}"),
    })
}

/// The Common Name of a certificate's subject, as Mosquitto's `use_identity_as_username` takes it.
pub fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let name = parsed.subject().iter_common_name().next()?.as_str().ok()?;
    Some(name.to_string())
}
