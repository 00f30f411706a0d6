//! TLS for the client commands (`pub`, `sub`, `bench`, `top`): which certificates to trust,
//! an optional client certificate, and errors that say which check failed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// A TLS version to speak, when only one will do (`--tls-version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsVersion {
    /// TLS 1.2 only.
    V1_2,
    /// TLS 1.3 only.
    V1_3,
}

/// The TLS flags of a client command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM CA certificates to trust; without it (or [`MoreTls::ca_path`]), the system's
    /// trusted CAs.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate chain.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
    /// Do not check that the certificate is valid for the host name (it must still be signed by
    /// a trusted CA), like mosquitto_pub's `--insecure`.
    pub insecure: bool,
}

const BOTH_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS12, &rustls::version::TLS13];
const ONLY_1_2: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const ONLY_1_3: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// Why the TLS flags do not give a client configuration. Each variant names the file at
/// fault, where there is one; the Display is one line.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    /// A certificate or key file that cannot be read or is not PEM of the expected kind.
    #[error("{}: {}", path.display(), pem_words(error))]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        error: rustls::pki_types::pem::Error,
    },
    /// A certificate file without a certificate.
    #[error("{}: no PEM certificate in the file", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A `--capath` directory that cannot be listed.
    #[error("{}: cannot read the directory: {}", path.display(), super::error::io_words(error))]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// A `--capath` directory without a certificate in any of its files.
    #[error("{}: no PEM certificate in the directory", path.display())]
    NoCertificateInDir {
        /// The directory.
        path: PathBuf,
    },
    /// A CA certificate rustls does not accept as a trust anchor.
    #[error("{}: not a usable CA certificate: {error}", path.display())]
    BadCa {
        /// The file or directory it came from.
        path: PathBuf,
        /// What rustls said.
        error: rustls::Error,
    },
    /// No CA given, and none found on this system.
    #[error("no trusted CA certificates found on this system; give one with --cafile")]
    NoSystemCa,
    /// The trusted CAs do not make a certificate verifier.
    #[error("cannot use the CA certificates: {0}")]
    Verifier(rustls::client::VerifierBuilderError),
    /// The TLS versions asked for are not available.
    #[error("{0}")]
    Versions(rustls::Error),
    /// A client certificate and a key that do not go together.
    #[error("{} and {} cannot be used together: {error}", cert.display(), key.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        error: rustls::Error,
    },
    /// `--cert` without `--key`, or `--key` without `--cert`.
    #[error("a client certificate needs both --cert and --key")]
    CertWithoutKey,
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|error| TlsConfigError::Pem {
            path: path.to_path_buf(),
            error,
        })?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_file(path).map_err(|error| TlsConfigError::Pem {
        path: path.to_path_buf(),
        error,
    })
}

fn bad_ca(path: &Path, error: rustls::Error) -> TlsConfigError {
    TlsConfigError::BadCa {
        path: path.to_path_buf(),
        error,
    }
}

fn key_mismatch(cert: &Path, key: &Path, error: rustls::Error) -> TlsConfigError {
    TlsConfigError::KeyMismatch {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        error,
    }
}

fn pem_words(e: &rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => format!("cannot read: {io}"),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item of the expected kind".into(),
        other => format!("not valid PEM: {other:?}"),
    }
}

/// What `pub` and `sub` take on top of [`TlsOptions`], as mosquitto's clients do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoreTls {
    /// A directory of PEM CA certificates to trust (`--capath`).
    pub ca_path: Option<PathBuf>,
    /// Trust the system's CAs as well as the given ones (`--tls-use-os-certs`).
    pub os_certs: bool,
    /// Speak only this version; `None` for TLS 1.2 or 1.3.
    pub version: Option<TlsVersion>,
}

/// The certificates of every file in `dir` that holds PEM certificates (a `--capath`
/// directory also holds OpenSSL's hash links and may hold other files: those are skipped).
fn read_cert_dir(dir: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|error| TlsConfigError::ReadDir {
        path: dir.to_path_buf(),
        error,
    })?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut certs = Vec::new();
    for path in paths.iter().filter(|p| p.is_file()) {
        certs.extend(read_certs(path).unwrap_or_default());
    }
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificateInDir {
            path: dir.to_path_buf(),
        });
    }
    Ok(certs)
}

impl TlsOptions {
    /// Builds the client configuration; `Err` is one line naming the file at fault.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsConfigError> {
        self.client_config_with(&MoreTls::default())
    }

    /// Reads the files these options name and checks that the key goes with the
    /// certificate, as [`TlsOptions::client_config`] would, without the system's CA
    /// certificates: a check of the files alone (a bridge's, for `serve --check-config`).
    pub fn check_files(&self) -> Result<(), TlsConfigError> {
        if let Some(path) = &self.ca_file {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(path)? {
                roots.add(cert).map_err(|e| bad_ca(path, e))?;
            }
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            let chain = read_certs(cert)?;
            let key_der = read_key(key)?;
            rustls::sign::CertifiedKey::from_der(chain, key_der, &provider())
                .map_err(|e| key_mismatch(cert, key, e))?;
        }
        Ok(())
    }

    /// [`TlsOptions::client_config`] with mosquitto's further TLS flags.
    pub fn client_config_with(&self, more: &MoreTls) -> Result<Arc<ClientConfig>, TlsConfigError> {
        let mut roots = RootCertStore::empty();
        let mut given = Vec::new();
        if let Some(path) = &self.ca_file {
            given.push((path, read_certs(path)?));
        }
        if let Some(dir) = &more.ca_path {
            given.push((dir, read_cert_dir(dir)?));
        }
        for (path, certs) in given.iter() {
            for cert in certs.iter().cloned() {
                roots.add(cert).map_err(|e| bad_ca(path, e))?;
            }
        }
        if given.is_empty() || more.os_certs {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(TlsConfigError::NoSystemCa);
            }
        }
        let provider = provider();
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(TlsConfigError::Verifier)?;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(match more.version {
                None => BOTH_VERSIONS,
                Some(TlsVersion::V1_2) => ONLY_1_2,
                Some(TlsVersion::V1_3) => ONLY_1_3,
            })
            .map_err(TlsConfigError::Versions)?;
        let builder = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyName(webpki)))
        } else {
            builder.with_webpki_verifier(webpki)
        };
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert)?;
                let key_der = read_key(key)?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| key_mismatch(cert, key, e))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(TlsConfigError::CertWithoutKey),
        };
        Ok(Arc::new(config))
    }
}

/// A host (held here, as given) that is neither a DNS name nor an IP address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid TLS server name")]
pub struct BadServerName(pub String);

/// The name to check the broker's certificate against: a DNS name or an IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, BadServerName> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string()).map_err(|_| BadServerName(host.to_string()))
}

/// Whether an I/O error carries a TLS error (a failed check or an alert from the broker).
pub fn is_tls_error(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
}

/// A handshake failure in words: which check failed and what to do about it.
pub fn describe_failure(e: &std::io::Error, host: &str) -> String {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            return "the broker closed the connection during the TLS handshake (is this a TLS port?)".into();
        }
        return format!("TLS handshake failed: {e}");
    };
    match tls {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature) => {
            "the broker's certificate is not signed by a trusted CA (give its CA with --cafile)".into()
        }
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!(
            "the broker's certificate is not valid for the name {host:?} (connect by a name it lists, or --insecure)"
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the broker's certificate has expired".into(),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => "the broker's certificate is not valid yet (check this machine's clock)".into(),
        rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired) => {
            "the broker requires a client certificate (--cert and --key)".into()
        }
        rustls::Error::AlertReceived(
            rustls::AlertDescription::BadCertificate
            | rustls::AlertDescription::UnknownCA
            | rustls::AlertDescription::CertificateUnknown,
        ) => "the broker refused our client certificate (is it signed by the CA the broker trusts?)".into(),
        rustls::Error::AlertReceived(alert) => format!(
            "the broker ended the TLS handshake ({alert:?}); does it want a client certificate (--cert/--key)?"
        ),
        other => format!("TLS handshake failed: {other}"),
    }
}

/// `--insecure`: the chain must still lead to a trusted CA; only the name check is skipped.
#[derive(Debug)]
struct AnyName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
