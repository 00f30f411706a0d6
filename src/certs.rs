//! A local certificate authority in one step (`robustmq certs init`): a CA, a server
//! certificate for the given names and addresses, and a client certificate, all signed by the
//! CA, so TLS and mutual TLS work without knowing openssl.

use std::net::IpAddr;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use time::OffsetDateTime;

/// What to put in the certificates.
#[derive(Debug, Clone)]
pub struct CertOptions {
    /// DNS names the server certificate is valid for.
    pub hosts: Vec<String>,
    /// IP addresses the server certificate is valid for.
    pub ips: Vec<IpAddr>,
    /// Common Name of the client certificate (the user name with `use_identity_as_username`).
    pub client_name: String,
    /// Validity from now.
    pub valid_for: Duration,
}

/// One certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
}

/// The generated set.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The CA.
    pub ca: Pair,
    /// The server certificate, signed by the CA.
    pub server: Pair,
    /// The client certificate, signed by the CA.
    pub client: Pair,
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "robustmq");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn validity(params: &mut CertificateParams, valid_for: Duration) {
    let now = OffsetDateTime::now_utc();
    // A day of slack for clocks that are a little behind (a Raspberry Pi without RTC).
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + valid_for;
}

/// Generates the CA, server and client certificates (ECDSA P-256 keys).
pub fn generate(options: &CertOptions) -> Result<Generated, rcgen::Error> {
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = name("robustmq local CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut ca_params, options.valid_for);
    let ca_key = KeyPair::generate()?;
    let ca_key_pem = ca_key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key)?;

    let mut server_params = CertificateParams::default();
    server_params.distinguished_name = name(options.hosts.first().map_or("robustmq", String::as_str));
    server_params.subject_alt_names = options
        .hosts
        .iter()
        .map(|h| h.clone().try_into().map(SanType::DnsName))
        .chain(options.ips.iter().map(|ip| Ok(SanType::IpAddress(*ip))))
        .collect::<Result<_, _>>()?;
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut server_params, options.valid_for);
    let server_key = KeyPair::generate()?;
    let server_cert = server_params.signed_by(&server_key, &ca)?;

    let mut client_params = CertificateParams::default();
    client_params.distinguished_name = name(&options.client_name);
    client_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut client_params, options.valid_for);
    let client_key = KeyPair::generate()?;
    let client_cert = client_params.signed_by(&client_key, &ca)?;

    Ok(Generated {
        ca: Pair {
            cert_pem: ca.pem(),
            key_pem: ca_key_pem,
        },
        server: Pair {
            cert_pem: server_cert.pem(),
            key_pem: server_key.serialize_pem(),
        },
        client: Pair {
            cert_pem: client_cert.pem(),
            key_pem: client_key.serialize_pem(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_name_what_was_asked_and_chain_to_the_ca() {
        let generated = generate(&CertOptions {
            hosts: vec!["localhost".into(), "pi.local".into()],
            ips: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
            client_name: "sensor-1".into(),
            valid_for: Duration::from_secs(86_400 * 30),
        })
        .unwrap();
        let der = |pem: &str| {
            let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
            p.contents
        };
        let ca_der = der(&generated.ca.cert_pem);
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).unwrap();
        assert!(ca.is_ca());
        let server_der = der(&generated.server.cert_pem);
        let (_, server) = x509_parser::parse_x509_certificate(&server_der).unwrap();
        assert_eq!(server.issuer(), ca.subject());
        // The signatures themselves are checked by real TLS handshakes in tests/listeners.
        let sans = format!("{:?}", server.subject_alternative_name().unwrap().unwrap().value);
        for wanted in [
            "DNSName(\"localhost\")",
            "DNSName(\"pi.local\")",
            "IPAddress([127, 0, 0, 1])",
            "IPAddress([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])",
        ] {
            assert!(sans.contains(wanted), "{wanted} in {sans}");
        }
        let client_der = der(&generated.client.cert_pem);
        let (_, client) = x509_parser::parse_x509_certificate(&client_der).unwrap();
        assert_eq!(client.issuer(), ca.subject());
        let cn = client
            .subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap();
        assert_eq!(cn, "sensor-1");
        let remaining = client.validity().time_to_expiration().unwrap();
        assert!(
            remaining.whole_days() >= 29 && remaining.whole_days() <= 30,
            "{remaining}"
        );
        assert!(generated
            .client
            .key_pem
            .starts_with("-----BEGIN PRIVATE KEY-----"));
    }
}
