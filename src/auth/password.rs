//! The password file the broker checks user names and passwords against: `user:hash` lines,
//! argon2id PHC strings written by `robustmq passwd`, or Mosquitto's `$6$`/`$7$` hashes.
//!
//! Blank lines and lines starting with `#` are skipped. Anything else must be a valid entry: a
//! file the broker only half understands would lock users out without saying why, so a bad
//! line is an error naming the file and the line.

use std::collections::HashMap;
use std::path::Path;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::mosquitto_hash::{MosquittoHash, MosquittoHashError};
use super::AuthError;

/// What the password file is called in messages.
const WHAT: &str = "password file";
/// Its configuration key.
const KEY: &str = "[auth] password_file";

/// Why the hash part of a password file line was refused. No variant holds the hash.
#[derive(Debug, thiserror::Error)]
pub enum BadHash {
    /// A `$6$` or `$7$` hash that does not parse.
    #[error(transparent)]
    Mosquitto(#[from] MosquittoHashError),
    /// An argon2 PHC string that does not parse.
    #[error("invalid argon2 hash: {0}")]
    Argon2(argon2::password_hash::Error),
    /// An argon2 PHC string whose costs argon2 does not accept.
    #[error("invalid argon2 parameters: {0}")]
    Argon2Params(argon2::password_hash::Error),
    /// An argon2 PHC string without its salt or its hash.
    #[error("invalid argon2 hash: the salt or the hash is missing")]
    Argon2Incomplete,
    /// Nothing after the `:`.
    #[error("the hash is empty")]
    Empty,
    /// Neither argon2 nor Mosquitto; plain text among others.
    #[error("unsupported hash (expected $argon2id$ from `robustmq passwd`, or $6$ or $7$ from mosquitto_passwd; plain-text passwords are not accepted)")]
    Unsupported,
}

/// Why a new password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum HashingError {
    /// The argon2 costs asked for are out of argon2's range.
    #[error("invalid argon2 parameters: {0}")]
    Params(argon2::Error),
    /// argon2 failed to hash (the password is longer than it takes, among others).
    #[error("cannot hash the password: {0}")]
    Hash(argon2::password_hash::Error),
}

/// One user's stored hash.
#[derive(Clone)]
pub enum StoredHash {
    /// An argon2 PHC string (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), kept as text and
    /// parsed again at each check, since the parsed form borrows from it.
    Argon2(String),
    /// A hash written by `mosquitto_passwd`.
    Mosquitto(MosquittoHash),
}

// Hashes stay out of logs.
impl std::fmt::Debug for StoredHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoredHash::Argon2(_) => f.write_str("StoredHash::Argon2(..)"),
            StoredHash::Mosquitto(h) => write!(f, "StoredHash::Mosquitto({h:?})"),
        }
    }
}

impl StoredHash {
    /// Parses the hash part of a line; the error says what is wrong without echoing it.
    pub fn parse(text: &str) -> Result<StoredHash, BadHash> {
        if MosquittoHash::is_mosquitto(text) {
            return Ok(StoredHash::Mosquitto(MosquittoHash::parse(text)?));
        }
        if ["$argon2id$", "$argon2i$", "$argon2d$"]
            .iter()
            .any(|p| text.starts_with(p))
        {
            let hash = PasswordHash::new(text).map_err(BadHash::Argon2)?;
            // Checks the parameters now rather than at the first login.
            argon2::Params::try_from(&hash).map_err(BadHash::Argon2Params)?;
            if hash.salt.is_none() || hash.hash.is_none() {
                return Err(BadHash::Argon2Incomplete);
            }
            return Ok(StoredHash::Argon2(text.to_string()));
        }
        if text.is_empty() {
            return Err(BadHash::Empty);
        }
        Err(BadHash::Unsupported)
    }

    /// Whether `password` matches, in constant time. CPU heavy for argon2: call it off the
    /// async runtime's threads.
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            StoredHash::Argon2(text) => match PasswordHash::new(text) {
                // The comparison inside is constant time (password-hash's `Output`).
                Ok(hash) => Argon2::default().verify_password(password, &hash).is_ok(),
                Err(_) => false,
            },
            StoredHash::Mosquitto(hash) => hash.verify(password),
        }
    }
}

/// A loaded password file.
#[derive(Debug, Clone, Default)]
pub struct PasswordFile {
    users: HashMap<String, StoredHash>,
    /// The first entry's hash, checked for unknown user names so that they cost as long as
    /// known ones and the timing does not tell which names exist.
    decoy: Option<StoredHash>,
}

impl PasswordFile {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<PasswordFile, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|error| AuthError::Read {
            what: WHAT,
            key: KEY,
            path: path.to_path_buf(),
            error,
        })?;
        PasswordFile::parse(path, &text)
    }

    /// Parses the text of the file at `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<PasswordFile, AuthError> {
        let mut file = PasswordFile::default();
        for (index, raw) in text.lines().enumerate() {
            let error = |message: String| AuthError::Parse {
                what: WHAT,
                path: path.to_path_buf(),
                line: index + 1,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err(error("expected user:hash".into()));
            };
            let user = user.trim();
            check_username(user).map_err(|e| error(e.to_string()))?;
            let hash = StoredHash::parse(hash.trim()).map_err(|e| error(format!("user {user:?}: {e}")))?;
            if file.users.contains_key(user) {
                return Err(error(format!("user {user:?} appears twice")));
            }
            file.decoy.get_or_insert_with(|| hash.clone());
            file.users.insert(user.to_string(), hash);
        }
        Ok(file)
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// True when the file names no user.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks `user`'s password. Takes as long for an unknown user as for a known one. CPU
    /// heavy: call it off the async runtime's threads.
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        match self.users.get(user) {
            Some(hash) => hash.verify(password),
            None => {
                if let Some(decoy) = &self.decoy {
                    let _ = decoy.verify(password);
                }
                false
            }
        }
    }
}

/// Hashes a new password with argon2id (the crate's defaults, OWASP's recommendation: 19 MiB,
/// two passes, one lane) and a random salt, as a PHC string.
pub fn hash_password(password: &[u8]) -> Result<String, HashingError> {
    let params = argon2::Params::default();
    hash_password_with(password, params.m_cost(), params.t_cost())
}

/// Hashes with explicit argon2id costs: `memory_kib` KiB and `passes` passes over it. The
/// costs are stored in the hash, which is verified with them; tests use small ones.
pub fn hash_password_with(password: &[u8], memory_kib: u32, passes: u32) -> Result<String, HashingError> {
    let params = argon2::Params::new(memory_kib, passes, 1, None).map_err(HashingError::Params)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(HashingError::Hash)
}

/// Why a user name cannot go in a password file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadUsername {
    /// Empty.
    Empty,
    /// Contains `:`, which separates the name from the hash.
    Colon,
    /// Contains a control character (a line break would split the entry).
    Control,
    /// Starts or ends with white space, which the file format trims.
    Whitespace,
    /// Starts with `#`, which makes the line a comment.
    Hash,
    /// Longer than an MQTT string can be (65,535 bytes).
    TooLong,
}

impl std::fmt::Display for BadUsername {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadUsername::Empty => "the user name is empty",
            BadUsername::Colon => "a user name cannot contain ':'",
            BadUsername::Control => "a user name cannot contain control characters",
            BadUsername::Whitespace => "a user name cannot start or end with white space",
            BadUsername::Hash => "a user name cannot start with '#'",
            BadUsername::TooLong => "a user name cannot be longer than 65535 bytes",
        })
    }
}

/// Checks that `user` can be written to and read back from a password file.
pub fn check_username(user: &str) -> Result<(), BadUsername> {
    if user.is_empty() {
        Err(BadUsername::Empty)
    } else if user.contains(':') {
        Err(BadUsername::Colon)
    } else if user.chars().any(char::is_control) {
        Err(BadUsername::Control)
    } else if user.trim() != user {
        Err(BadUsername::Whitespace)
    } else if user.starts_with('#') {
        Err(BadUsername::Hash)
    } else if user.len() > u16::MAX as usize {
        Err(BadUsername::TooLong)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOSQUITTO_ALICE: &str = "alice:$7$101$dgM9hUl+immYr6Er$KnJdM6MLrI6pYlSbBbRRMAd/1boC3Sb1mBQDIP+sjwXWGhFr44fpoR6LDjzEsQhGr7EPUzycf/Vr+XExdAFEww==";

    fn parse(text: &str) -> Result<PasswordFile, AuthError> {
        PasswordFile::parse(Path::new("/etc/robustmq/passwd"), text)
    }

    #[test]
    fn argon2id_round_trip() {
        let hash = hash_password(b"correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        let cheap = hash_password_with(b"pw", 64, 1).unwrap();
        assert!(cheap.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{cheap}");
        let file = parse(&format!(
            "# users\n\nbob:{hash}\n{MOSQUITTO_ALICE}\ncarl:{cheap}\n"
        ))
        .unwrap();
        assert_eq!(file.len(), 3);
        assert!(file.verify("carl", b"pw"));
        assert!(file.verify("bob", b"correct horse"));
        assert!(!file.verify("bob", b"correct horse "));
        assert!(file.verify("alice", b"secret"));
        assert!(!file.verify("carol", b"secret"));
    }

    #[test]
    fn two_hashes_of_one_password_differ() {
        assert_ne!(
            hash_password_with(b"x", 64, 1).unwrap(),
            hash_password_with(b"x", 64, 1).unwrap()
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        for (text, line, why) in [
            ("bob", 1, "expected user:hash"),
            ("\n:$6$x$y", 2, "empty"),
            ("bob:plain", 1, "unsupported hash"),
            ("bob:", 1, "the hash is empty"),
            ("bob:$argon2id$v=19$garbage", 1, "invalid argon2"),
            (
                &format!("{MOSQUITTO_ALICE}\n{MOSQUITTO_ALICE}"),
                2,
                "appears twice",
            ),
        ] {
            let e = parse(text).unwrap_err().to_string();
            let want = format!("password file /etc/robustmq/passwd, line {line}: ");
            assert!(e.starts_with(&want), "{text:?}: {e}");
            assert!(e.contains(why), "{text:?}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }

    #[test]
    fn user_names_that_would_break_the_file_are_refused() {
        assert_eq!(check_username("a:b"), Err(BadUsername::Colon));
        assert_eq!(check_username("a\nb"), Err(BadUsername::Control));
        assert_eq!(check_username("a\u{7f}"), Err(BadUsername::Control));
        assert_eq!(check_username(" a"), Err(BadUsername::Whitespace));
        assert_eq!(check_username("#a"), Err(BadUsername::Hash));
        assert_eq!(check_username(""), Err(BadUsername::Empty));
        assert_eq!(check_username(&"x".repeat(70_000)), Err(BadUsername::TooLong));
        assert_eq!(check_username("émile.o'brien@site"), Ok(()));
    }

    #[test]
    fn debug_output_hides_hashes() {
        let file = parse(MOSQUITTO_ALICE).unwrap();
        assert!(!format!("{file:?}").contains("KnJd"));
    }
}
