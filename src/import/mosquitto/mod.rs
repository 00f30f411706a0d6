//! `robustmq import mosquitto`: a mosquitto.conf (and the files it includes) → robustmq.toml
//! text that our own loader accepts, and a note for every line that did not carry over.
//!
//! Password and ACL files are referred to, not converted: robustmq reads Mosquitto's.

mod bridge;
mod emit;
mod keys;
mod model;
mod parse;
mod translate;

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Settings;

pub use model::Note;

/// A translated configuration.
#[derive(Debug)]
pub struct Imported {
    /// The robustmq.toml text; it loads and validates.
    pub toml: String,
    /// Lines not carried over (or only in part), in file and line order.
    pub notes: Vec<Note>,
    /// Setting lines read, over all files.
    pub lines: usize,
}

impl Imported {
    /// How many lines have at least one note.
    pub fn noted_lines(&self) -> usize {
        self.notes
            .iter()
            .map(|n| (&n.file, n.line))
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// Why nothing could be imported.
#[derive(Debug)]
pub enum ImportError {
    /// The file cannot be read.
    Unreadable(String),
    /// The file is not a Mosquitto configuration.
    NotMosquitto {
        /// The file.
        file: PathBuf,
        /// What gave it away.
        why: String,
    },
    /// The translation did not validate: a case the translation should have noted instead.
    Invalid(String),
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Unreadable(message) => f.write_str(message),
            ImportError::NotMosquitto { file, why } => {
                write!(f, "{} is not a Mosquitto configuration: {why}", file.display())
            }
            ImportError::Invalid(message) => {
                write!(
                    f,
                    "the translation is not a valid robustmq configuration: {message}"
                )
            }
        }
    }
}

/// Reads `file` and translates it.
pub fn import(file: &Path) -> Result<Imported, ImportError> {
    let (directives, problems) = parse::read(file).map_err(|e| ImportError::Unreadable(e.to_string()))?;
    not_mosquitto(file, &directives)?;
    let (draft, mut notes) = translate::translate(file, &directives);
    notes.extend(problems.into_iter().map(|p| Note {
        file: p.file,
        line: p.line,
        key: p.key,
        why: p.why,
    }));
    let body = emit::emit(file, &draft, &mut notes);
    notes.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    let toml = with_notes(&body, &notes);
    Settings::from_toml_str(&toml, "imported configuration")
        .map_err(|e| ImportError::Invalid(e.to_string()))?;
    Ok(Imported {
        toml,
        notes,
        lines: directives.len(),
    })
}

/// The notes as comments after the header, so that the file keeps what the terminal showed.
fn with_notes(body: &str, notes: &[Note]) -> String {
    if notes.is_empty() {
        return body.to_owned();
    }
    let (header, rest) = body.split_once("\n\n").unwrap_or((body, ""));
    let mut text = format!("{}\n#\n# Not carried over as it was:\n", header.trim_end());
    for note in notes {
        let line = format!(
            "{}:{}: {}: {}",
            note.file.display(),
            note.line,
            note.key,
            note.why
        );
        // A file name with a line break must not end the comment.
        text.push_str(&format!("#   {}\n", line.replace(['\n', '\r'], " ")));
    }
    if !rest.is_empty() {
        text.push('\n');
        text.push_str(rest);
    }
    text
}

/// Refuses a file whose lines are mostly not Mosquitto settings (a robustmq.toml, a
/// binary, the wrong file), rather than writing a configuration made of notes.
fn not_mosquitto(file: &Path, directives: &[parse::Directive]) -> Result<(), ImportError> {
    let known = directives.iter().filter(|d| keys::is_known(&d.key)).count();
    let unknown = directives.len() - known;
    if unknown > known {
        let first = directives.iter().find(|d| !keys::is_known(&d.key));
        let why = match first {
            Some(d) => format!(
                "{unknown} of {} setting lines are not Mosquitto settings (the first, line {}: {:?})",
                directives.len(),
                d.line,
                d.key
            ),
            None => "no Mosquitto settings".to_owned(),
        };
        return Err(ImportError::NotMosquitto {
            file: file.to_owned(),
            why,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_text(text: &str) -> Result<Imported, ImportError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mosquitto.conf");
        std::fs::write(&file, text).unwrap();
        import(&file)
    }

    #[test]
    fn a_toml_file_is_not_a_mosquitto_config() {
        let err = import_text("[server]\ndata_dir = \"/x\"\n").unwrap_err();
        assert!(matches!(err, ImportError::NotMosquitto { .. }), "{err}");
    }

    #[test]
    fn an_all_comment_file_gives_the_defaults() {
        let imported = import_text("# nothing\n\n").unwrap();
        assert!(imported.notes.is_empty());
        let settings = Settings::from_toml_str(&imported.toml, "t").unwrap();
        assert_eq!(settings, Settings::default());
    }

    #[test]
    fn listeners_tls_auth_and_a_bridge_validate() {
        let imported = import_text(
            "per_listener_settings false\nallow_anonymous false\npassword_file /etc/m/pw\n\
             acl_file /etc/m/acl\nlistener 1883 127.0.0.1\nlistener 8883\ncertfile /c/s.crt\n\
             keyfile /c/s.key\ncafile /c/ca.crt\nrequire_certificate true\n\
             use_identity_as_username true\nlistener 9001\nprotocol websockets\n\
             connection cloud.example\naddress cloud.example:8883 backup:1883\n\
             bridge_cafile /c/ca.crt\ntopic sensors/# out 1 \"\" site1/\ntopic cmd/# in 2\n\
             remote_username edge\nremote_password secret\nbridge_protocol_version mqttv50\n",
        )
        .unwrap();
        let s = Settings::from_toml_str(&imported.toml, "t").unwrap();
        assert_eq!(s.listeners.len(), 3, "{}", imported.toml);
        assert_eq!(s.listeners[1].protocol.to_string(), "mqtts");
        assert!(s.listeners[1].use_identity_as_username);
        assert_eq!(s.listeners[2].protocol.to_string(), "ws");
        assert_eq!(s.listeners[0].allow_anonymous, Some(false));
        assert_eq!(s.auth.acl_file.as_deref(), Some(Path::new("/etc/m/acl")));
        let b = &s.bridges[0];
        assert_eq!(
            (b.name.as_str(), b.remote.as_str()),
            ("cloud_example", "mqtts://cloud.example:8883")
        );
        assert_eq!(b.protocol, 5);
        assert_eq!(b.topics[0].remote_prefix, "site1/");
        assert_eq!(b.topics[1].qos, 2);
        let keys: Vec<&str> = imported.notes.iter().map(|n| n.key.as_str()).collect();
        assert!(keys.contains(&"address"), "{keys:?}");
        assert!(keys.contains(&"connection"), "{keys:?}");
    }
}
