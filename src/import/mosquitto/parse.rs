//! Reads mosquitto.conf into directives: one per setting line, with the file and line it came
//! from, `include_dir` expanded in place.

use std::fmt;
use std::path::{Path, PathBuf};

/// One setting line: `KEY VALUE...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The file the line is in, as given (or as found in an `include_dir`).
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// The first word.
    pub key: String,
    /// Everything after the key, trimmed; Mosquitto takes some values whole (paths with
    /// spaces, `topic` patterns), others word by word.
    pub value: String,
}

impl Directive {
    /// The value's words.
    pub fn words(&self) -> Vec<&str> {
        self.value.split_whitespace().collect()
    }
}

/// A line that could not be used, and why (an unreadable `include_dir`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// The key of the line.
    pub key: String,
    /// Why it was not used.
    pub why: String,
}

/// Why the main file could not be read at all.
#[derive(Debug)]
pub struct ReadError {
    /// The file.
    pub file: PathBuf,
    /// What went wrong.
    pub error: std::io::Error,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.file.display(), self.error)
    }
}

/// The directives of `file` and of the files it includes, in the order Mosquitto reads them.
pub fn read(file: &Path) -> Result<(Vec<Directive>, Vec<Problem>), ReadError> {
    let text = std::fs::read_to_string(file).map_err(|error| ReadError {
        file: file.to_owned(),
        error,
    })?;
    let mut directives = Vec::new();
    let mut problems = Vec::new();
    parse_into(file, &text, 0, &mut directives, &mut problems);
    Ok((directives, problems))
}

/// Deeper than this, an `include_dir` is taken for a loop (a directory including itself).
const MAX_INCLUDE_DEPTH: usize = 8;

fn parse_into(
    file: &Path,
    text: &str,
    depth: usize,
    directives: &mut Vec<Directive>,
    problems: &mut Vec<Problem>,
) {
    for (index, raw) in text.lines().enumerate() {
        let Some(directive) = parse_line(file, index + 1, raw) else {
            continue;
        };
        if directive.key != "include_dir" {
            directives.push(directive);
            continue;
        }
        let problem = |why: String| Problem {
            file: file.to_owned(),
            line: directive.line,
            key: directive.key.clone(),
            why,
        };
        if depth >= MAX_INCLUDE_DEPTH {
            problems.push(problem(
                "includes nested too deep (a directory including itself?)".into(),
            ));
            continue;
        }
        // Relative to the including file, as every other path of the import.
        let dir = file.parent().unwrap_or(Path::new("")).join(&directive.value);
        match included_files(&dir) {
            Ok(files) => {
                for included in files {
                    match std::fs::read_to_string(&included) {
                        Ok(text) => parse_into(&included, &text, depth + 1, directives, problems),
                        Err(e) => problems.push(problem(format!("cannot read {}: {e}", included.display()))),
                    }
                }
            }
            Err(e) => problems.push(problem(format!(
                "cannot read directory {:?}: {e}",
                directive.value
            ))),
        }
    }
}

/// The `*.conf` files of an `include_dir`, sorted by name as Mosquitto reads them.
fn included_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "conf") && path.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// A setting line, or `None` for a blank line or a comment (Mosquitto's comments are whole
/// lines starting with `#`; a `#` later in a line is part of the value, as in topic filters).
fn parse_line(file: &Path, line: usize, raw: &str) -> Option<Directive> {
    let text = raw.trim();
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    let (key, value) = match text.split_once(char::is_whitespace) {
        Some((key, value)) => (key, value.trim()),
        None => (text, ""),
    };
    Some(Directive {
        file: file.to_owned(),
        line,
        key: key.to_owned(),
        value: value.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blank_lines_are_skipped_and_values_kept_whole() {
        let file = Path::new("m.conf");
        assert_eq!(parse_line(file, 1, "  # listener 1883"), None);
        assert_eq!(parse_line(file, 2, "   "), None);
        let d = parse_line(file, 3, "topic sensors/# out 1  a/ b/ ").unwrap();
        assert_eq!(
            (d.key.as_str(), d.value.as_str()),
            ("topic", "sensors/# out 1  a/ b/")
        );
        assert_eq!(d.words(), ["sensors/#", "out", "1", "a/", "b/"]);
        let d = parse_line(file, 4, "per_listener_settings").unwrap();
        assert_eq!(d.value, "");
    }

    #[test]
    fn include_dir_reads_conf_files_in_name_order_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let conf_d = dir.path().join("conf.d");
        std::fs::create_dir(&conf_d).unwrap();
        std::fs::write(conf_d.join("b.conf"), "max_keepalive 60\n").unwrap();
        std::fs::write(conf_d.join("a.conf"), "listener 1884\n").unwrap();
        std::fs::write(conf_d.join("README"), "not read\n").unwrap();
        let main = dir.path().join("mosquitto.conf");
        let text = format!("port 1883\ninclude_dir {}\nsys_interval 5\n", conf_d.display());
        std::fs::write(&main, text).unwrap();
        let (directives, problems) = read(&main).unwrap();
        let keys: Vec<&str> = directives.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["port", "listener", "max_keepalive", "sys_interval"]);
        assert_eq!(directives[1].file, conf_d.join("a.conf"));
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_missing_include_dir_is_a_problem_not_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("mosquitto.conf");
        std::fs::write(&main, "include_dir /no/such/dir\nport 1883\n").unwrap();
        let (directives, problems) = read(&main).unwrap();
        assert_eq!(directives.len(), 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 1);
    }
}
