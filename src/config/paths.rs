//! Which configuration file, and so which data directory, `serve` and `store` use.
//!
//! Both commands choose the same way, so that `robustmq store stats` run beside a broker finds
//! that broker's data without being told where it is:
//!
//! 1. `--config FILE`, when given;
//! 2. else the system configuration, `/etc/robustmq/robustmq.toml`, when it exists (the
//!    package installs it, and the systemd unit runs the broker on it);
//! 3. else no file: the built-in defaults, with data in the user's data directory.
//!
//! `--data-dir` then overrides whatever the chosen configuration says.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::{ConfigError, Settings};

/// Where the package installs the configuration of the system's broker.
pub const SYSTEM_CONFIG: &str = "/etc/robustmq/robustmq.toml";

/// Environment variable naming another file to stand for [`SYSTEM_CONFIG`], or none at all
/// when empty: for packagers whose system configuration lives elsewhere, and for tests, which
/// must not depend on what the machine running them has in /etc.
pub const SYSTEM_CONFIG_ENV: &str = "ROBUSTMQ_SYSTEM_CONFIG";

/// The configuration a command runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// The file given with `--config`.
    Given(PathBuf),
    /// The system configuration, found where it is installed.
    System(PathBuf),
    /// No file: the built-in defaults.
    Defaults,
}

impl ConfigSource {
    /// The file to read, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            ConfigSource::Given(path) | ConfigSource::System(path) => Some(path),
            ConfigSource::Defaults => None,
        }
    }

    /// Chooses the configuration: `given` (from `--config`), else `system` if something is
    /// there, else the defaults.
    ///
    /// A system file that cannot even be looked at (a directory the user may not enter) still
    /// counts as there, so that reading it fails naming it instead of the command silently
    /// working on another data directory.
    pub fn choose(given: Option<&Path>, system: Option<&Path>) -> ConfigSource {
        if let Some(path) = given {
            return ConfigSource::Given(path.to_owned());
        }
        match system.map(|path| (path, std::fs::metadata(path))) {
            Some((path, Ok(_))) => ConfigSource::System(path.to_owned()),
            Some((path, Err(e))) if e.kind() == io::ErrorKind::PermissionDenied => {
                ConfigSource::System(path.to_owned())
            }
            _ => ConfigSource::Defaults,
        }
    }

    /// [`ConfigSource::choose`] with the system configuration of this machine: [`SYSTEM_CONFIG`],
    /// or what [`SYSTEM_CONFIG_ENV`] names.
    pub fn locate(given: Option<&Path>) -> ConfigSource {
        ConfigSource::choose(given, system_config().as_deref())
    }

    /// Reads the settings, with `data_dir` (from `--data-dir`) over the configuration's.
    /// They are validated as read; validate again after changing other fields.
    pub fn load(&self, data_dir: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut settings = match self.file() {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        if let Some(dir) = data_dir {
            settings.server.data_dir = dir.to_owned();
        }
        Ok(settings)
    }
}

/// `FILE`, `FILE (system configuration)` or `built-in defaults`, for messages.
impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::Given(path) => write!(f, "{}", path.display()),
            ConfigSource::System(path) => write!(f, "{} (system configuration)", path.display()),
            ConfigSource::Defaults => f.write_str("built-in defaults"),
        }
    }
}

/// The system configuration file of this machine, unless [`SYSTEM_CONFIG_ENV`] says none.
pub fn system_config() -> Option<PathBuf> {
    match std::env::var_os(SYSTEM_CONFIG_ENV) {
        Some(value) if value.is_empty() => None,
        Some(value) => Some(PathBuf::from(value)),
        None => Some(PathBuf::from(SYSTEM_CONFIG)),
    }
}

/// Creates the data directory and its missing parents, readable by the owner alone (mode
/// 0700): the store holds every client's queued messages. An existing directory is left as
/// it is; under systemd, `StateDirectory=` has already made it, with the unit's mode.
pub fn create_data_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_file_wins_over_the_system_one() {
        let tmp = tempfile::tempdir().unwrap();
        let system = tmp.path().join("system.toml");
        std::fs::write(&system, "").unwrap();
        let given = tmp.path().join("given.toml");
        assert_eq!(
            ConfigSource::choose(Some(&given), Some(&system)),
            ConfigSource::Given(given)
        );
    }

    #[test]
    fn the_system_file_is_used_when_it_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let system = tmp.path().join("robustmq.toml");
        assert_eq!(ConfigSource::choose(None, Some(&system)), ConfigSource::Defaults);
        std::fs::write(&system, "").unwrap();
        assert_eq!(
            ConfigSource::choose(None, Some(&system)),
            ConfigSource::System(system)
        );
        assert_eq!(ConfigSource::choose(None, None), ConfigSource::Defaults);
    }

    #[test]
    fn data_dir_overrides_the_file_and_the_defaults() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("robustmq.toml");
        std::fs::write(&file, "[server]\ndata_dir = \"data\"\n").unwrap();
        let source = ConfigSource::Given(file);
        assert_eq!(
            source.load(None).unwrap().server.data_dir,
            tmp.path().join("data")
        );
        let flag = tmp.path().join("elsewhere");
        assert_eq!(source.load(Some(&flag)).unwrap().server.data_dir, flag);
        assert_eq!(
            ConfigSource::Defaults.load(None).unwrap().server.data_dir,
            super::super::default_data_dir()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_missing_data_dir_is_created_for_the_owner_alone() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/data");
        create_data_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        create_data_dir(&dir).expect("an existing directory is fine");
    }
}
