//! `robustmq passwd FILE add|delete|list`: manage the users of a password file, like
//! mosquitto_passwd.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::auth::password::{check_username, hash_password};
use crate::auth::password_edit::PasswordEditor;
use crate::cli::{PasswdAction, PasswdArgs};
use crate::exit::Exit;

/// Why `robustmq passwd` stopped, with its exit code.
struct Failure {
    exit: Exit,
    message: String,
}

fn failed(message: String) -> Failure {
    Failure {
        exit: Exit::Failed,
        message,
    }
}

/// Runs `robustmq passwd`.
pub fn run(args: PasswdArgs) -> ExitCode {
    let result = match &args.action {
        PasswdAction::Add { user, stdin } => add(&args.file, user, *stdin),
        PasswdAction::Delete { user } => delete(&args.file, user),
        PasswdAction::List => list(&args.file),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("robustmq: {}", f.message);
            ExitCode::from(f.exit)
        }
    }
}

fn open(file: &Path, must_exist: bool) -> Result<PasswordEditor, Failure> {
    if must_exist && !file.exists() {
        return Err(failed(format!("{}: no such file", file.display())));
    }
    PasswordEditor::open(file).map_err(|e| failed(format!("cannot read {}: {e}", file.display())))
}

fn add(file: &Path, user: &str, stdin: bool) -> Result<(), Failure> {
    check_username(user).map_err(|e| Failure {
        exit: Exit::Usage,
        message: format!("invalid user name {user:?}: {e}"),
    })?;
    // Read the file first: no point asking for a password to write to a file we cannot read.
    let mut editor = open(file, false)?;
    let password = if stdin {
        read_stdin_line()?
    } else {
        prompt_twice()?
    };
    if password.is_empty() {
        return Err(failed("the password is empty".into()));
    }
    let hash = hash_password(password.as_bytes()).map_err(|e| failed(e.to_string()))?;
    let replaced = editor.set(user, &hash);
    editor
        .save()
        .map_err(|e| failed(format!("cannot write {}: {e}", file.display())))?;
    if replaced {
        eprintln!("robustmq: changed the password of {user:?} in {}", file.display());
    } else {
        eprintln!("robustmq: added user {user:?} to {}", file.display());
    }
    Ok(())
}

fn delete(file: &Path, user: &str) -> Result<(), Failure> {
    let mut editor = open(file, true)?;
    if !editor.remove(user) {
        return Err(failed(format!("no user {user:?} in {}", file.display())));
    }
    editor
        .save()
        .map_err(|e| failed(format!("cannot write {}: {e}", file.display())))?;
    eprintln!("robustmq: deleted user {user:?} from {}", file.display());
    Ok(())
}

fn list(file: &Path) -> Result<(), Failure> {
    let editor = open(file, true)?;
    let mut out = std::io::stdout().lock();
    for user in editor.users() {
        if let Err(e) = writeln!(out, "{user}") {
            // A closed pipe (`| head`) is not worth a message.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(failed(format!("cannot write to stdout: {e}")));
        }
    }
    Ok(())
}

/// One line of standard input, without its line ending.
fn read_stdin_line() -> Result<String, Failure> {
    let mut line = String::new();
    let read = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| failed(format!("cannot read the password from standard input: {e}")))?;
    if read == 0 {
        return Err(failed("no password on standard input".into()));
    }
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(trimmed.to_string())
}

/// Asks for the password twice on the terminal, without echo.
fn prompt_twice() -> Result<String, Failure> {
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).map_err(|e| {
            failed(format!(
                "cannot read the password from the terminal: {e} (use --stdin to pipe it in)"
            ))
        })
    };
    let first = ask("Password: ")?;
    let second = ask("Reenter password: ")?;
    if first != second {
        return Err(failed("the passwords do not match".into()));
    }
    Ok(first)
}
