//! `robustmq import mosquitto FILE [-o OUT]`: writes the translated configuration and lists,
//! line by line, what did not carry over.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::{ImportArgs, ImportFrom, ImportMosquittoArgs};
use crate::exit::Exit;
use crate::import::mosquitto::{self, ImportError, Imported};

/// Runs `robustmq import`.
pub fn run(args: ImportArgs) -> ExitCode {
    match args.from {
        ImportFrom::Mosquitto(args) => match from_mosquitto(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err((exit, message)) => {
                eprintln!("robustmq import mosquitto: {message}");
                exit.into()
            }
        },
    }
}

fn from_mosquitto(args: &ImportMosquittoArgs) -> Result<(), (Exit, String)> {
    let imported = mosquitto::import(&args.file).map_err(|e| {
        let exit = match e {
            ImportError::Unreadable(_) | ImportError::NotMosquitto { .. } => Exit::BadInput,
            ImportError::Invalid(_) => Exit::Failed,
        };
        (exit, e.to_string())
    })?;
    // Notes first: they are what a user must read, and with stdout as the output they would
    // otherwise scroll past above it.
    for note in &imported.notes {
        eprintln!(
            "{}:{}: {}: {}",
            note.file.display(),
            note.line,
            note.key,
            note.why
        );
    }
    let written_to = match &args.output {
        Some(out) => {
            write(out, &imported.toml, args.force).map_err(|e| (Exit::Failed, e.to_string()))?;
            out.display().to_string()
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(imported.toml.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| (Exit::Failed, format!("cannot write to standard output: {e}")))?;
            "standard output".to_owned()
        }
    };
    eprintln!("{}", summary(&args.file, &imported, &written_to));
    Ok(())
}

fn summary(file: &Path, imported: &Imported, written_to: &str) -> String {
    let noted = imported.noted_lines();
    let tail = match noted {
        0 => "all carried over".to_owned(),
        1 => "1 not carried over as it was (listed above)".to_owned(),
        n => format!("{n} not carried over as they were (listed above)"),
    };
    format!(
        "robustmq import mosquitto: {}: {} setting lines, {tail}; wrote {written_to}",
        file.display(),
        imported.lines
    )
}

/// Why the translated configuration could not be written to its file.
#[derive(Debug, thiserror::Error)]
enum WriteError {
    /// The file is there and `--force` was not given.
    #[error("{} exists; use --force to replace it", path.display())]
    Exists {
        /// The output file.
        path: PathBuf,
    },
    /// Opening, writing or syncing the file failed.
    #[error("cannot write {}: {error}", path.display())]
    Io {
        /// The output file.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
}

/// Writes `text` to `out`, which must not exist unless `force`.
fn write(out: &Path, text: &str, force: bool) -> Result<(), WriteError> {
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let io = |error: std::io::Error| WriteError::Io {
        path: out.to_path_buf(),
        error,
    };
    let mut file = options.open(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            WriteError::Exists {
                path: out.to_path_buf(),
            }
        } else {
            io(e)
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)
}
