//! Editing a password file for `robustmq passwd`: add, replace or delete one user's line and
//! write the file back atomically, leaving every other line (comments, other users, hashes
//! from mosquitto_passwd) exactly as it was.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A password file read into memory, line by line.
#[derive(Debug)]
pub struct PasswordEditor {
    path: PathBuf,
    lines: Vec<String>,
}

/// The user an entry line is for; `None` for blank lines, comments and lines without `:`.
fn entry_user(line: &str) -> Option<&str> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    line.split_once(':').map(|(user, _)| user.trim())
}

impl PasswordEditor {
    /// Reads the file at `path`; a missing file is an empty one (`save` creates it).
    pub fn open(path: &Path) -> io::Result<PasswordEditor> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        Ok(PasswordEditor {
            path: path.to_path_buf(),
            lines: text.lines().map(str::to_string).collect(),
        })
    }

    /// The user names in the file, in file order.
    pub fn users(&self) -> Vec<&str> {
        self.lines.iter().filter_map(|l| entry_user(l)).collect()
    }

    /// Sets `user`'s hash: replaces the line in place if the user exists (true), else appends
    /// one (false).
    pub fn set(&mut self, user: &str, hash: &str) -> bool {
        let entry = format!("{user}:{hash}");
        match self.lines.iter().position(|l| entry_user(l) == Some(user)) {
            Some(i) => {
                self.lines[i] = entry;
                true
            }
            None => {
                self.lines.push(entry);
                false
            }
        }
    }

    /// Removes `user`'s line; false if there was none.
    pub fn remove(&mut self, user: &str) -> bool {
        let before = self.lines.len();
        self.lines.retain(|l| entry_user(l) != Some(user));
        self.lines.len() != before
    }

    /// Writes the file atomically: a temporary file next to it, flushed to disk, then renamed
    /// over it, so a reader (the broker reloading on SIGHUP) sees the old file or the new one,
    /// never half of one. An existing file keeps its permissions; a new one gets 0600.
    pub fn save(&self) -> io::Result<()> {
        let mut text = self.lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        write_atomically(&self.path, text.as_bytes())
    }
}

/// Replaces `path` with `contents` through a temporary file and a rename.
pub fn write_atomically(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let existing = match std::fs::metadata(path) {
        Ok(m) => Some(m),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Owner only from the first byte: the hashes are never readable by others, even
            // for a moment.
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        if let Some(meta) = &existing {
            // Owner and group first (a file made group-readable for the service, e.g.
            // `chgrp robustmq`, stays so when root edits it), then the mode. Changing the
            // owner needs privileges: without them the file stays ours, as before.
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let _ = std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid()));
            }
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)?;
        // The rename itself survives a crash once the directory is synced; best effort, some
        // file systems refuse to open a directory for that.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_other_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        std::fs::write(&path, "# users\nalice:$7$a\n\nbob:$6$b\n").unwrap();
        let mut editor = PasswordEditor::open(&path).unwrap();
        assert_eq!(editor.users(), ["alice", "bob"]);
        assert!(editor.set("alice", "$argon2id$new"));
        assert!(!editor.set("carol", "$argon2id$c"));
        assert!(editor.remove("bob"));
        assert!(!editor.remove("bob"));
        editor.save().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# users\nalice:$argon2id$new\n\ncarol:$argon2id$c\n"
        );
        // Nothing is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_private_and_existing_modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("passwd");
        let mut editor = PasswordEditor::open(&path).unwrap();
        editor.set("a", "$6$x");
        editor.save().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let mut editor = PasswordEditor::open(&path).unwrap();
        editor.set("b", "$6$y");
        editor.save().unwrap();
        assert_eq!(mode(&path), 0o640);
        // The group is kept too: as root (CI), a group we are not in; otherwise our own.
        use std::os::unix::fs::MetadataExt;
        let gid = match std::os::unix::fs::chown(&path, None, Some(54_321)) {
            Ok(()) => 54_321,
            Err(_) => std::fs::metadata(&path).unwrap().gid(),
        };
        write_atomically(&path, b"again\n").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().gid(), gid);
    }
}
