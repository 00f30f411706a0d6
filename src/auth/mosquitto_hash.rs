//! Mosquitto's password hashes, so a `mosquitto_passwd` file works as it is: `$6$` (salted
//! SHA-512) and `$7$` (PBKDF2-HMAC-SHA512).
//!
//! The formats, as Mosquitto writes and reads them (`password_mosq.c`):
//!
//! - `$6$<base64 salt>$<base64 SHA-512(password ‖ salt)>`
//! - `$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512(password, salt, iterations, 64)>`
//!
//! The salt is 12 bytes (Mosquitto 2.0) or 64 bytes (later versions); the hash is always
//! 64 bytes. Base64 is the standard alphabet with padding.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// Length of every Mosquitto password hash (SHA-512).
const HASH_LEN: usize = 64;
/// Salt lengths Mosquitto has written.
const SALT_LENS: [usize; 2] = [12, 64];
/// More PBKDF2 rounds than this would let one password line stall a login for minutes.
const MAX_ITERATIONS: u32 = 10_000_000;

/// Why a Mosquitto hash does not parse. No variant holds the hash or its salt, so the message
/// can go in a log or an error line without echoing a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MosquittoHashError {
    /// `$6$` without the `$` between the salt and the hash.
    #[error("a $6$ hash needs a salt and a hash separated by '$'")]
    Sha512Parts,
    /// `$7$` without three `$`-separated parts.
    #[error("a $7$ hash needs iterations, a salt and a hash separated by '$'")]
    Pbkdf2Parts,
    /// The `$7$` iteration count (held here) is not a number.
    #[error("invalid $7$ iteration count {0:?}")]
    BadIterations(String),
    /// The `$7$` iteration count is 0 or more than a login can afford.
    #[error("$7$ iteration count {0} is outside 1..={max}", max = MAX_ITERATIONS)]
    IterationsOutOfRange(u32),
    /// The salt does not decode.
    #[error("the salt is not valid base64")]
    SaltNotBase64,
    /// The salt has a length (held here) Mosquitto never writes.
    #[error("the salt is {0} bytes (Mosquitto writes 12 or 64)")]
    SaltLength(usize),
    /// The hash does not decode.
    #[error("the hash is not valid base64")]
    HashNotBase64,
    /// The hash has a length (held here) other than SHA-512's.
    #[error("the hash is {0} bytes, not {len}", len = HASH_LEN)]
    HashLength(usize),
    /// Neither `$6$` nor `$7$`.
    #[error("not a Mosquitto hash (expected $6$ or $7$)")]
    NotMosquitto,
}

/// A parsed Mosquitto hash.
#[derive(Clone, PartialEq, Eq)]
pub enum MosquittoHash {
    /// `$6$`: one round of SHA-512 over the password and the salt.
    Sha512 {
        /// Salt bytes.
        salt: Vec<u8>,
        /// Expected digest.
        hash: [u8; HASH_LEN],
    },
    /// `$7$`: PBKDF2-HMAC-SHA512.
    Pbkdf2Sha512 {
        /// PBKDF2 rounds.
        iterations: u32,
        /// Salt bytes.
        salt: Vec<u8>,
        /// Expected derived key.
        hash: [u8; HASH_LEN],
    },
}

// Hashes stay out of logs and panic messages.
impl std::fmt::Debug for MosquittoHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MosquittoHash::Sha512 { .. } => f.write_str("MosquittoHash::Sha512(..)"),
            MosquittoHash::Pbkdf2Sha512 { iterations, .. } => {
                write!(f, "MosquittoHash::Pbkdf2Sha512({iterations} iterations, ..)")
            }
        }
    }
}

impl MosquittoHash {
    /// Whether `text` claims to be a Mosquitto hash (it may still be malformed).
    pub fn is_mosquitto(text: &str) -> bool {
        text.starts_with("$6$") || text.starts_with("$7$")
    }

    /// Parses `$6$...` or `$7$...`; the error says what is wrong, without echoing the hash.
    pub fn parse(text: &str) -> Result<MosquittoHash, MosquittoHashError> {
        if let Some(rest) = text.strip_prefix("$6$") {
            let (salt, hash) = rest.split_once('$').ok_or(MosquittoHashError::Sha512Parts)?;
            Ok(MosquittoHash::Sha512 {
                salt: decode_salt(salt)?,
                hash: decode_hash(hash)?,
            })
        } else if let Some(rest) = text.strip_prefix("$7$") {
            let mut parts = rest.splitn(3, '$');
            let (Some(iterations), Some(salt), Some(hash)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(MosquittoHashError::Pbkdf2Parts);
            };
            let iterations: u32 = iterations
                .parse()
                .map_err(|_| MosquittoHashError::BadIterations(iterations.to_string()))?;
            if iterations == 0 || iterations > MAX_ITERATIONS {
                return Err(MosquittoHashError::IterationsOutOfRange(iterations));
            }
            Ok(MosquittoHash::Pbkdf2Sha512 {
                iterations,
                salt: decode_salt(salt)?,
                hash: decode_hash(hash)?,
            })
        } else {
            Err(MosquittoHashError::NotMosquitto)
        }
    }

    /// Whether `password` matches, compared in constant time.
    pub fn verify(&self, password: &[u8]) -> bool {
        let mut computed = [0u8; HASH_LEN];
        let expected = match self {
            MosquittoHash::Sha512 { salt, hash } => {
                let mut digest = Sha512::new();
                digest.update(password);
                digest.update(salt);
                computed.copy_from_slice(&digest.finalize());
                hash
            }
            MosquittoHash::Pbkdf2Sha512 {
                iterations,
                salt,
                hash,
            } => {
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut computed);
                hash
            }
        };
        computed.ct_eq(expected).into()
    }
}

fn decode_salt(text: &str) -> Result<Vec<u8>, MosquittoHashError> {
    let salt = STANDARD
        .decode(text)
        .map_err(|_| MosquittoHashError::SaltNotBase64)?;
    if !SALT_LENS.contains(&salt.len()) {
        return Err(MosquittoHashError::SaltLength(salt.len()));
    }
    Ok(salt)
}

fn decode_hash(text: &str) -> Result<[u8; HASH_LEN], MosquittoHashError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| MosquittoHashError::HashNotBase64)?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| MosquittoHashError::HashLength(b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Written by `mosquitto_passwd -b` (Mosquitto 2.0.11) for user "alice", password "secret".
    const PBKDF2: &str = "$7$101$dgM9hUl+immYr6Er$KnJdM6MLrI6pYlSbBbRRMAd/1boC3Sb1mBQDIP+sjwXWGhFr44fpoR6LDjzEsQhGr7EPUzycf/Vr+XExdAFEww==";

    #[test]
    fn pbkdf2_hash_from_mosquitto_passwd_verifies() {
        let hash = MosquittoHash::parse(PBKDF2).unwrap();
        assert!(matches!(
            hash,
            MosquittoHash::Pbkdf2Sha512 { iterations: 101, .. }
        ));
        assert!(hash.verify(b"secret"));
        assert!(!hash.verify(b"secreT"));
        assert!(!hash.verify(b""));
    }

    #[test]
    fn sha512_hash_is_password_then_salt() {
        let salt = b"0123456789ab".to_vec();
        let mut digest = Sha512::new();
        digest.update(b"pw");
        digest.update(&salt);
        let text = format!(
            "$6${}${}",
            STANDARD.encode(&salt),
            STANDARD.encode(digest.finalize())
        );
        let hash = MosquittoHash::parse(&text).unwrap();
        assert!(hash.verify(b"pw"));
        assert!(!hash.verify(b"pw "));
    }

    #[test]
    fn malformed_hashes_are_refused_with_a_reason() {
        for (text, why) in [
            ("$6$abc", "separated"),
            ("$6$!!!$AAAA", "salt is not valid base64"),
            ("$6$AAAA$AAAA", "salt is 3 bytes"),
            ("$7$x$AAAA$AAAA", "iteration count"),
            ("$7$0$AAAA$AAAA", "outside"),
            ("$7$101$dgM9hUl+immYr6Er$AAAA", "hash is 3 bytes"),
            ("$5$a$b", "not a Mosquitto hash"),
        ] {
            let e = MosquittoHash::parse(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn debug_output_hides_the_hash() {
        let hash = MosquittoHash::parse(PBKDF2).unwrap();
        let shown = format!("{hash:?}");
        assert!(!shown.contains("KnJd"), "{shown}");
    }
}
