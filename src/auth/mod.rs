//! Authentication and authorization: the password file, the ACL file, and the decisions the
//! broker asks for (may this client connect, publish here, subscribe there, receive this).
//!
//! - [`password`]: the password file (argon2id, or Mosquitto's `$6$`/`$7$` hashes);
//!   [`password_edit`] rewrites it for `robustmq passwd`; [`mosquitto_hash`] reads
//!   Mosquitto's hashes.
//! - [`login`]: who may connect, with password checks off the async threads.
//! - [`acl`]: the ACL file in Mosquitto's syntax; [`filter`]: the filter relations it needs.
//! - [`identity`]: which user owns each session, for checks made without a connection.
//!
//! [`Auth`] holds the loaded files behind locks so SIGHUP can swap them ([`Auth::reload`])
//! while clients stay connected: a file that fails to load then keeps the previous version.
//! Without files every check allows, and the broker behaves as if this module did not exist.
//! Nothing here knows about sessions or connections: the broker passes client ids, user names
//! and the address of the session object.

pub mod acl;
pub mod filter;
pub mod identity;
pub mod login;
pub mod mosquitto_hash;
pub mod password;
pub mod password_edit;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use thiserror::Error;

use crate::config::AuthSettings;
use acl::{Access, Acl};
use identity::{Identities, Owner};
use login::{Refused, Verifier};
use password::PasswordFile;

/// A password or ACL file that cannot be used.
#[derive(Debug, Error)]
pub enum AuthError {
    /// The file cannot be read.
    #[error("cannot read {what} {} ({key}): {error}", path.display())]
    Read {
        /// `password file` or `ACL file`.
        what: &'static str,
        /// The configuration key naming it.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error (part of the message, not a chained cause, to keep one line).
        error: std::io::Error,
    },
    /// A line of the file is wrong.
    #[error("{what} {}, line {line}: {message}", path.display())]
    Parse {
        /// `password file` or `ACL file`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn replace<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|p| p.into_inner()) = value;
}

/// The broker's authentication and authorization state.
#[derive(Debug, Default)]
pub struct Auth {
    /// The files in force; SIGHUP may name others.
    paths: RwLock<AuthSettings>,
    passwords: RwLock<Option<Arc<PasswordFile>>>,
    acl: RwLock<Option<Arc<Acl>>>,
    /// Whether a password file, an ACL file, is in force: read on every CONNECT, kept apart
    /// from `paths` so that reading them takes no lock.
    has_password: AtomicBool,
    has_acl: AtomicBool,
    identities: Identities,
    verifier: Verifier,
}

/// Password and ACL files read and checked, ready for [`Auth::install`].
#[derive(Debug)]
pub struct AuthFiles {
    settings: AuthSettings,
    passwords: Option<Arc<PasswordFile>>,
    acl: Option<Arc<Acl>>,
}

impl AuthFiles {
    /// Reads the files `[auth]` names; an error names the file, the line and the problem.
    pub fn read(settings: &AuthSettings) -> Result<AuthFiles, AuthError> {
        let passwords = match &settings.password_file {
            Some(path) => Some(Arc::new(PasswordFile::load(path)?)),
            None => None,
        };
        let acl = match &settings.acl_file {
            Some(path) => Some(Arc::new(Acl::load(path)?)),
            None => None,
        };
        Ok(AuthFiles {
            settings: settings.clone(),
            passwords,
            acl,
        })
    }
}

impl Auth {
    /// Loads the files `[auth]` names; an error names the file, the line and the problem.
    pub fn load(settings: &AuthSettings) -> Result<Auth, AuthError> {
        let auth = Auth::default();
        auth.install(AuthFiles::read(settings)?);
        Ok(auth)
    }

    /// Puts `files` in force, paths and contents (SIGHUP with a changed `[auth]`). Connected
    /// clients stay connected; the new rules apply from their next packet and delivery on.
    pub fn install(&self, files: AuthFiles) {
        self.has_password
            .store(files.passwords.is_some(), Ordering::Release);
        self.has_acl.store(files.acl.is_some(), Ordering::Release);
        replace(&self.passwords, files.passwords);
        replace(&self.acl, files.acl);
        replace(&self.paths, files.settings);
    }

    /// Reads the files in force again (SIGHUP). Each file is replaced only if it loads;
    /// otherwise the previous version stays in force and one error line is logged. Connected
    /// clients stay connected; the new rules apply from their next packet and next delivery on.
    pub fn reload(&self) {
        let paths = read(&self.paths);
        if let Some(path) = &paths.password_file {
            match PasswordFile::load(path) {
                Ok(file) => {
                    tracing::info!(file = %path.display(), users = file.len(), "password file reloaded");
                    replace(&self.passwords, Some(Arc::new(file)));
                }
                Err(e) => tracing::error!("{e}; keeping the previous password file"),
            }
        }
        if let Some(path) = &paths.acl_file {
            match Acl::load(path) {
                Ok(acl) => {
                    tracing::info!(file = %path.display(), rules = acl.rules(), "ACL file reloaded");
                    replace(&self.acl, Some(Arc::new(acl)));
                }
                Err(e) => tracing::error!("{e}; keeping the previous ACL file"),
            }
        }
    }

    /// Whether a password file or an ACL file is configured.
    pub fn is_configured(&self) -> bool {
        self.has_password_file() || self.has_acl()
    }

    /// Whether user names are checked against a password file.
    pub fn has_password_file(&self) -> bool {
        self.has_password.load(Ordering::Acquire)
    }

    /// Whether an ACL file is configured.
    pub fn has_acl(&self) -> bool {
        self.has_acl.load(Ordering::Acquire)
    }

    /// The ACL in force.
    pub fn acl(&self) -> Option<Arc<Acl>> {
        read(&self.acl)
    }

    /// Users in the password file in force (0 without one).
    pub fn users(&self) -> usize {
        read(&self.passwords).map_or(0, |f| f.len())
    }

    /// Decides whether a CONNECT gets in (see [`login`] for the rules). The caller delays the
    /// refusal by [`login::FAILED_LOGIN_DELAY`].
    pub async fn login(
        &self,
        username: Option<&str>,
        password: Option<&Bytes>,
        allow_anonymous: bool,
    ) -> Result<(), Refused> {
        let passwords = read(&self.passwords);
        login::login(&self.verifier, passwords, username, password, allow_anonymous).await
    }

    /// Records the user name the session `owner` of `client_id` authenticated with, for the
    /// checks made later without its connection. Nothing is kept when no file is configured.
    pub fn register(&self, client_id: &Arc<str>, owner: Owner, username: Option<Arc<str>>) {
        if self.is_configured() {
            self.identities.register(client_id, owner, username);
        }
    }

    /// Registers a client connected before any file was configured, with the user name its
    /// connection logged in with (read before this call): a session that replaced it meanwhile
    /// registered itself and keeps its entry.
    pub fn register_connected(&self, client_id: &Arc<str>, owner: Owner, username: Option<Arc<str>>) {
        if self.is_configured() {
            self.identities
                .register_unless_replaced(client_id, owner, username);
        }
    }

    /// Whether the live session of `client_id` was created by another user than `username`:
    /// such a session is not resumed, so one user never inherits another's subscriptions and
    /// queued messages. Always false without a password file or ACL (user names then prove
    /// nothing).
    pub fn owned_by_another(&self, client_id: &str, username: Option<&str>) -> bool {
        self.is_configured()
            && self
                .identities
                .current_owner(client_id)
                .is_some_and(|owner| owner.as_deref() != username)
    }

    /// The user name registered for `session` (the address of the session object), `None`
    /// when the session is unknown.
    fn username(&self, client_id: &str, session: *const ()) -> Option<Option<Arc<str>>> {
        self.identities.username(client_id, session)
    }

    /// Whether a client, before its session is registered, may write `topic` (a will at
    /// CONNECT).
    pub fn may_write_as(&self, username: Option<&str>, client_id: &str, topic: &str) -> bool {
        self.acl()
            .is_none_or(|acl| acl.allows(username, client_id, topic, Access::Write))
    }

    /// Whether the client of `session` may do `access` on `topic`. Without an ACL, yes; for a
    /// session that is not registered (restored from the store, its client not back yet), no.
    pub fn may(&self, client_id: &str, session: *const (), topic: &str, access: Access) -> bool {
        let Some(acl) = self.acl() else {
            return true;
        };
        match self.username(client_id, session) {
            Some(user) => acl.allows(user.as_deref(), client_id, topic, access),
            None => false,
        }
    }

    /// Whether the client of `session` may subscribe to `filter` (without `$share/group/`).
    pub fn may_subscribe(&self, client_id: &str, session: *const (), filter: &str) -> bool {
        let Some(acl) = self.acl() else {
            return true;
        };
        match self.username(client_id, session) {
            Some(user) => acl.allows_subscribe(user.as_deref(), client_id, filter),
            None => false,
        }
    }

    /// Whether the will of `session` may go out on `topic` when it falls due. A session with
    /// no registered user (restored from the store) had its will checked at CONNECT, before
    /// the restart, and keeps it.
    pub fn may_publish_will(&self, client_id: &str, session: *const (), topic: &str) -> bool {
        let Some(acl) = self.acl() else {
            return true;
        };
        match self.username(client_id, session) {
            Some(user) => acl.allows(user.as_deref(), client_id, topic, Access::Write),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use identity::owner_key;

    fn settings(passwd: Option<&str>, acl: Option<&str>, dir: &std::path::Path) -> AuthSettings {
        let mut s = AuthSettings::default();
        if let Some(text) = passwd {
            let path = dir.join("passwd");
            std::fs::File::create(&path)
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            s.password_file = Some(path);
        }
        if let Some(text) = acl {
            let path = dir.join("acl");
            std::fs::write(&path, text).unwrap();
            s.acl_file = Some(path);
        }
        s
    }

    #[test]
    fn without_files_everything_is_allowed() {
        let auth = Auth::default();
        assert!(!auth.is_configured());
        assert!(auth.may("c", std::ptr::null(), "a", Access::Read));
        assert!(auth.may_subscribe("c", std::ptr::null(), "#"));
        assert!(!auth.owned_by_another("c", Some("x")));
    }

    #[test]
    fn checks_use_the_registered_user() {
        let dir = tempfile::tempdir().unwrap();
        let auth = Auth::load(&settings(None, Some("user alice\ntopic a/#\n"), dir.path())).unwrap();
        let session: Owner = Arc::new(());
        let key = owner_key(&*session);
        let id: Arc<str> = Arc::from("c1");
        assert!(!auth.may("c1", key, "a/b", Access::Read), "unknown session");
        assert!(
            auth.may_publish_will("c1", key, "x"),
            "unknown: checked at CONNECT"
        );
        auth.register(&id, session.clone(), Some(Arc::from("alice")));
        assert!(auth.may("c1", key, "a/b", Access::Read));
        assert!(!auth.may("c1", key, "b", Access::Write));
        assert!(!auth.may_publish_will("c1", key, "b"));
        assert!(auth.owned_by_another("c1", Some("bob")));
        assert!(auth.owned_by_another("c1", None));
        assert!(!auth.owned_by_another("c1", Some("alice")));
    }

    #[test]
    fn a_bad_file_on_reload_keeps_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(None, Some("topic a\n"), dir.path());
        let auth = Auth::load(&s).unwrap();
        let acl_path = s.acl_file.clone().unwrap();
        std::fs::write(&acl_path, "topic b\n").unwrap();
        auth.reload();
        assert!(auth.may_write_as(None, "c", "b"));
        std::fs::write(&acl_path, "topic bad access b\n").unwrap();
        auth.reload();
        assert!(auth.may_write_as(None, "c", "b"), "previous rules kept");
        std::fs::remove_file(&acl_path).unwrap();
        auth.reload();
        assert!(auth.may_write_as(None, "c", "b"), "previous rules kept");
    }

    #[test]
    fn load_errors_are_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let s = AuthSettings {
            acl_file: Some(dir.path().join("missing")),
            ..Default::default()
        };
        let e = Auth::load(&s).unwrap_err().to_string();
        assert!(e.starts_with("cannot read ACL file "), "{e}");
        assert!(e.contains("([auth] acl_file)"), "{e}");
        let s = settings(Some("bob\n"), None, dir.path());
        let e = Auth::load(&s).unwrap_err().to_string();
        assert!(e.ends_with("passwd, line 1: expected user:hash"), "{e}");
    }
}
