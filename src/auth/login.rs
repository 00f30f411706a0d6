//! CONNECT-time authentication: which clients get in, with password checks run on the
//! blocking thread pool, a few at a time.
//!
//! The rules (Mosquitto's, per listener):
//!
//! | CONNECT | password file | `allow_anonymous` | outcome |
//! | --- | --- | --- | --- |
//! | no user name | any | true | accepted as anonymous |
//! | no user name | any | false | refused: not authorized (v5 0x87, 3.1.1 return code 5) |
//! | user name | configured | any | accepted only if the password matches (else v5 0x86, 3.1.1 4) |
//! | user name | none | true | accepted, the user name taken as it is |
//! | user name | none | false | refused: bad user name or password (0x86 / 4) |
//!
//! So with a password file, a client that sends a user name must authenticate even on a
//! listener that admits anonymous clients. A v5 password without a user name is ignored, as in
//! Mosquitto (3.1.1 forbids it and the decoder refuses it).
//!
//! Checking an argon2id hash costs tens of milliseconds of CPU and 19 MiB (far more on a
//! Raspberry Pi), so it never runs on the async runtime's threads: it goes to the blocking
//! pool, and at most half the CPUs (at least one) verify at once, whatever the number of
//! clients trying; the others wait their turn without holding a thread. Message routing keeps
//! the rest of the machine, and a flood of logins costs the attacker a connection slot per
//! pending attempt. Results are not cached: a cache would keep a fast-to-test digest of every
//! password in memory, which is what argon2 is there to prevent, and a login happens once per
//! connection, not per message.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::password::PasswordFile;
use crate::protocol::ReasonCode;

/// How long a refused client waits for its CONNACK: one guess per connection per second.
pub const FAILED_LOGIN_DELAY: Duration = Duration::from_secs(1);

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The v5 CONNACK reason code (3.1.1 gets the nearest return code).
    pub reason: ReasonCode,
    /// What to log and, for v5 clients that ask, the reason string.
    pub detail: &'static str,
}

/// Runs password checks off the async threads, a bounded number at once.
#[derive(Debug)]
pub struct Verifier {
    permits: Semaphore,
}

impl Default for Verifier {
    fn default() -> Verifier {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Verifier {
            permits: Semaphore::new((cpus / 2).max(1)),
        }
    }
}

impl Verifier {
    /// Checks `user`'s password against `file` on the blocking pool.
    async fn verify(&self, file: Arc<PasswordFile>, user: &str, password: Bytes) -> bool {
        // The semaphore is never closed; a failure here would only mean no check, i.e. refusal.
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        let user = user.to_string();
        tokio::task::spawn_blocking(move || file.verify(&user, &password))
            .await
            .unwrap_or(false)
    }
}

/// Applies the rules of this module's table.
pub async fn login(
    verifier: &Verifier,
    passwords: Option<Arc<PasswordFile>>,
    username: Option<&str>,
    password: Option<&Bytes>,
    allow_anonymous: bool,
) -> Result<(), Refused> {
    let Some(user) = username else {
        return if allow_anonymous {
            Ok(())
        } else {
            Err(Refused {
                reason: ReasonCode::NOT_AUTHORIZED,
                detail: "anonymous clients are not allowed on this listener",
            })
        };
    };
    match passwords {
        Some(file) => {
            let Some(password) = password else {
                return Err(Refused {
                    reason: ReasonCode::BAD_USERNAME_OR_PASSWORD,
                    detail: "bad user name or password",
                });
            };
            if verifier.verify(file, user, password.clone()).await {
                Ok(())
            } else {
                Err(Refused {
                    reason: ReasonCode::BAD_USERNAME_OR_PASSWORD,
                    detail: "bad user name or password",
                })
            }
        }
        None if allow_anonymous => Ok(()),
        None => Err(Refused {
            reason: ReasonCode::BAD_USERNAME_OR_PASSWORD,
            detail: "no password file is configured",
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::auth::password::hash_password_with;

    fn file() -> Arc<PasswordFile> {
        let text = format!("bob:{}\n", hash_password_with(b"pw", 64, 1).unwrap());
        Arc::new(PasswordFile::parse(Path::new("p"), &text).unwrap())
    }

    #[tokio::test]
    async fn the_rules_of_the_table() {
        let v = Verifier::default();
        let pw = Bytes::from_static(b"pw");
        let bad = Bytes::from_static(b"nope");
        let code = |r: Result<(), Refused>| r.err().map(|e| e.reason);
        // Anonymous.
        assert_eq!(code(login(&v, None, None, None, true).await), None);
        assert_eq!(code(login(&v, Some(file()), None, None, true).await), None);
        assert_eq!(
            code(login(&v, Some(file()), None, None, false).await),
            Some(ReasonCode::NOT_AUTHORIZED)
        );
        // A user name with a password file: always checked.
        for anonymous in [true, false] {
            assert_eq!(
                code(login(&v, Some(file()), Some("bob"), Some(&pw), anonymous).await),
                None
            );
            assert_eq!(
                code(login(&v, Some(file()), Some("bob"), Some(&bad), anonymous).await),
                Some(ReasonCode::BAD_USERNAME_OR_PASSWORD)
            );
            assert_eq!(
                code(login(&v, Some(file()), Some("eve"), Some(&pw), anonymous).await),
                Some(ReasonCode::BAD_USERNAME_OR_PASSWORD)
            );
            assert_eq!(
                code(login(&v, Some(file()), Some("bob"), None, anonymous).await),
                Some(ReasonCode::BAD_USERNAME_OR_PASSWORD)
            );
        }
        // A user name without a password file.
        assert_eq!(code(login(&v, None, Some("x"), None, true).await), None);
        assert_eq!(
            code(login(&v, None, Some("x"), Some(&pw), false).await),
            Some(ReasonCode::BAD_USERNAME_OR_PASSWORD)
        );
    }
}
