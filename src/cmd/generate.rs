//! `robustmq generate` (hidden): man pages and shell completions, from the clap definitions in
//! `cli.rs` and the commented default configuration, for packagers and for the copies
//! committed in `man/` and `completions/`.
//!
//! The output depends only on the source: no dates, no git commit, no terminal width, so a
//! test can tell when the committed copies are stale by generating them again.

mod config_page;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

use crate::cli::{Cli, GenerateArgs, GenerateWhat};
use crate::exit::{self, Exit};

/// The shells completions are written for; each file is named as that shell expects
/// (`robustmq.bash`, `_robustmq`, `robustmq.fish`, `robustmq.elv`, `_robustmq.ps1`).
const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// Where the package installs the configuration file; named in the pages.
const PACKAGED_CONFIG: &str = crate::config::SYSTEM_CONFIG;

/// The `manual` field of every page's title line.
const MANUAL: &str = "robustmq manual";

/// The date field of every page's title line: empty, so pages do not change with the day they
/// were generated. Written as `""` because an empty argument would vanish from the `.TH`
/// line and shift the fields after it.
pub(crate) const NO_DATE: &str = "\"\"";

/// Runs `robustmq generate`.
pub fn run(args: GenerateArgs) -> ExitCode {
    let result = match args.what {
        GenerateWhat::Man { dir } => write_man_pages(&dir),
        GenerateWhat::Completions { dir } => write_completions(&dir),
    };
    match result {
        Ok(files) => {
            for file in files {
                println!("{}", file.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("robustmq: {e:#}");
            Exit::Failed.into()
        }
    }
}

/// The command line as clap sees it, with the plain package version: the git commit in
/// `--version` would make the generated files change with every commit.
fn command() -> clap::Command {
    let mut cmd = Cli::command()
        .version(env!("CARGO_PKG_VERSION"))
        .disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Writes the shell completion scripts into `dir`; returns the files written.
pub fn write_completions(dir: &Path) -> Result<Vec<PathBuf>> {
    create_dir(dir)?;
    let mut cmd = visible_only(&command());
    SHELLS
        .iter()
        .map(|&shell| {
            clap_complete::generate_to(shell, &mut cmd, "robustmq", dir)
                .with_context(|| format!("cannot write {shell} completions into {}", dir.display()))
        })
        .collect()
}

/// A copy of `cmd` without its hidden subcommands, at any depth: clap_complete would offer
/// them (`generate` itself) in completions. A command with something hidden below it is
/// rebuilt from what completions use (name, descriptions, arguments, subcommands); the others
/// are cloned as they are.
fn visible_only(cmd: &clap::Command) -> clap::Command {
    if !hides_subcommands(cmd) {
        return cmd.clone();
    }
    let mut copy = clap::Command::new(leak(cmd.get_name()))
        // The built command's arguments include its help and version flags already.
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true)
        .args(cmd.get_arguments().cloned())
        .groups(cmd.get_groups().cloned())
        .subcommands(
            cmd.get_subcommands()
                .filter(|sub| !sub.is_hide_set())
                .map(visible_only),
        )
        .visible_aliases(cmd.get_visible_aliases().map(leak).collect::<Vec<_>>());
    if let Some(version) = cmd.get_version() {
        copy = copy.version(leak(version));
    }
    if let Some(about) = cmd.get_about() {
        copy = copy.about(about.clone());
    }
    if let Some(about) = cmd.get_long_about() {
        copy = copy.long_about(about.clone());
    }
    copy
}

fn hides_subcommands(cmd: &clap::Command) -> bool {
    cmd.get_subcommands()
        .any(|sub| sub.is_hide_set() || hides_subcommands(sub))
}

/// clap takes names as `&'static str` (without its `string` feature); this process writes a
/// few files and exits, so the few bytes leaked do not matter.
fn leak(name: &str) -> &'static str {
    Box::leak(name.to_owned().into_boxed_str())
}

/// Writes robustmq(1), a page per visible subcommand at any depth (robustmq-store-stats(1))
/// and robustmq.toml(5) into `dir`; returns the files written.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    create_dir(dir)?;
    let root = command();
    let mut pages = Vec::new();
    collect_pages(&root, &root, &mut pages);
    let mut written = Vec::new();
    for (name, text) in pages {
        written.push(write_file(&dir.join(format!("{name}.1")), &text)?);
    }
    // The pages of the commands that make or read what the file names (passwords, certificates).
    let see_also: Vec<String> = ["serve", "passwd", "certs"]
        .into_iter()
        .filter(|name| root.find_subcommand(name).is_some_and(|sub| !sub.is_hide_set()))
        .map(|name| format!("robustmq-{name}(1)"))
        .collect();
    let config = config_page::render(crate::config::DEFAULT_CONFIG, PACKAGED_CONFIG, MANUAL, &see_also);
    written.push(write_file(&dir.join("robustmq.toml.5"), &config)?);
    Ok(written)
}

fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))
}

fn write_file(path: &Path, text: &str) -> Result<PathBuf> {
    let mut file = fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.to_owned())
}

/// Renders `cmd` and, depth first, its visible subcommands, as (page name, roff text).
fn collect_pages(root: &clap::Command, cmd: &clap::Command, pages: &mut Vec<(String, String)>) {
    pages.push((page_name(cmd).to_owned(), render_page(root, cmd)));
    for sub in cmd.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        collect_pages(root, sub, pages);
    }
}

/// `robustmq-store-stats` for `robustmq store stats`: clap's display name once built.
fn page_name(cmd: &clap::Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// One man page: clap_mangen's sections, then EXIT STATUS from the table of exit codes, the
/// rest of the text after the options as a section of its own, then what clap knows nothing
/// about (files, signals, examples, SEE ALSO).
fn render_page(root: &clap::Command, cmd: &clap::Command) -> String {
    let man = Man::new(cmd.clone())
        .manual(MANUAL)
        .date(NO_DATE)
        .source(format!("robustmq {}", env!("CARGO_PKG_VERSION")));
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut section = |render: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut buf = Vec::new();
        render(&mut buf).expect("writing to a Vec cannot fail");
        parts.push(buf);
    };
    section(&|w| man.render_title(w));
    section(&|w| man.render_name_section(w));
    section(&|w| man.render_synopsis_section(w));
    section(&|w| man.render_description_section(w));
    if cmd.get_arguments().any(|arg| !arg.is_hide_set()) {
        section(&|w| man.render_options_section(w));
    }
    if cmd.get_subcommands().any(|sub| !sub.is_hide_set()) {
        section(&|w| man.render_subcommands_section(w));
    }

    let mut extra = Roff::new();
    let command = command_path(cmd);
    exit_status(&mut extra, &command);
    if let Some(text) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        // The help text ends with the exit codes, which EXIT STATUS has just given from the
        // same table; what comes before them gets a section of its own.
        let text = text.to_string();
        let codes = if command.is_empty() {
            exit::summary()
        } else {
            exit::help(&command)
        };
        let notes = text.strip_suffix(&codes).unwrap_or(&text).trim_end();
        if !notes.is_empty() {
            after_help(&mut extra, notes);
        }
    }
    match page_name(cmd) {
        "robustmq" => root_sections(&mut extra),
        "robustmq-serve" => serve_sections(&mut extra),
        _ => {}
    }
    see_also(&mut extra, root, cmd);

    // Every rendered part starts with the same preamble (a string definition for
    // apostrophes); keep the first.
    let preamble = Roff::new().render();
    let mut page = String::new();
    for (i, part) in parts.into_iter().chain([extra.render().into_bytes()]).enumerate() {
        let part = String::from_utf8(part).expect("roff output is UTF-8");
        match part.strip_prefix(&preamble) {
            Some(rest) if i > 0 => page.push_str(rest),
            _ => page.push_str(&part),
        }
    }
    page
}

/// `store stats` for robustmq-store-stats(1); `""` for robustmq(1).
fn command_path(cmd: &clap::Command) -> String {
    let name = page_name(cmd);
    name.strip_prefix("robustmq")
        .unwrap_or(name)
        .replace('-', " ")
        .trim()
        .to_owned()
}

/// EXIT STATUS from the table of exit codes: the command's own codes, or for robustmq(1)
/// every code and the commands it means something for.
fn exit_status(roff: &mut Roff, command: &str) {
    let rows: Vec<(u8, String)> = if command.is_empty() {
        exit::summary_rows()
    } else {
        exit::codes(command)
            .iter()
            .map(|(exit, meaning)| (exit.code(), (*meaning).to_owned()))
            .collect()
    };
    if rows.is_empty() {
        return;
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in rows {
        item(roff, &code.to_string(), &meaning);
    }
    if command.is_empty() {
        paragraph(roff, exit::SUMMARY_NOTE);
    }
}

/// A command's after-help text (other than its exit codes) as a section of its own: a first
/// line like "Title:" names it, and `  TAG  text` lines become a list; other text keeps its
/// line breaks.
fn after_help(roff: &mut Roff, text: &str) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default().trim();
    let (heading, body): (String, Vec<&str>) = match first.strip_suffix(':') {
        Some(title) if title.len() < 40 => (title.to_uppercase(), lines.collect()),
        _ => ("NOTES".into(), text.lines().collect()),
    };
    roff.control("SH", [heading.as_str()]);
    match tagged_list(&body) {
        Some(entries) => {
            for (tag, text) in entries {
                item(roff, &tag, &text);
            }
        }
        None => preformatted(roff, body),
    }
}

/// Reads lines like `  2   usage error: ...` (more indented lines continue the entry) as
/// (tag, text) pairs; `None` if the lines are not such a list.
fn tagged_list(lines: &[&str]) -> Option<Vec<(String, String)>> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in lines.iter().filter(|line| !line.trim().is_empty()) {
        let trimmed = line.trim_start();
        let (tag, rest) = trimmed.split_once("  ").unwrap_or((trimmed, ""));
        let indent = line.len() - trimmed.len();
        let starts_entry = indent <= 2 && !tag.is_empty() && !tag.contains(' ') && !rest.trim().is_empty();
        match entries.last_mut() {
            _ if starts_entry => entries.push((tag.to_owned(), rest.trim().to_owned())),
            Some((_, text)) if indent > 2 => {
                text.push(' ');
                text.push_str(trimmed);
            }
            _ => return None,
        }
    }
    (!entries.is_empty()).then_some(entries)
}

/// Lines shown as they are (no filling, no justification), indented.
fn preformatted<'a>(roff: &mut Roff, lines: impl IntoIterator<Item = &'a str>) {
    roff.control("RS", ["4"]);
    roff.control("nf", []);
    for line in lines {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
    roff.control("RE", []);
}

fn paragraph(roff: &mut Roff, text: &str) {
    roff.control("PP", []);
    roff.text([roman(text)]);
}

/// Tagged paragraph: a bold tag, then its description.
fn item(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []);
    roff.text([bold(tag)]);
    roff.text([roman(text)]);
}

/// robustmq(1): environment and files.
fn root_sections(roff: &mut Roff) {
    roff.control("SH", ["ENVIRONMENT"]);
    item(
        roff,
        "RUST_LOG",
        "Log filter (for example info or robustmq=debug); takes precedence over serve --log-level.",
    );
    item(roff, "NO_COLOR", "When set, log lines are never coloured.");
    item(
        roff,
        "NOTIFY_SOCKET",
        "Set by systemd for a Type=notify service: serve reports READY=1 there once every \
         listener is bound, and STOPPING=1 when it begins to shut down.",
    );
    files_section(roff);
}

/// robustmq-serve(1): signals, files and examples.
fn serve_sections(roff: &mut Roff) {
    roff.control("SH", ["SIGNALS"]);
    item(
        roff,
        "SIGINT, SIGTERM",
        "Shut down cleanly and exit 0. A second signal during the shutdown exits at once with \
         status 130.",
    );
    item(
        roff,
        "SIGHUP",
        "Read the configuration file again, with the same flags over it as at start, and apply \
         what can change live: [limits] (for connections accepted from then on, and new \
         sessions; a connection keeps the limits it got at CONNECT), [auth] (the files and \
         their paths), server.log_level (unless --log-level or RUST_LOG is set), [[bridges]] \
         (added ones start, removed ones disconnect and their queued messages are dropped, \
         changed ones restart, others are left alone), and a listener's allow_anonymous, cert, \
         key and client_ca. The password, ACL and certificate files are read again every time. \
         A change to the listeners, server.data_dir, server.sys_interval, [store] or [metrics] \
         is logged as needing a restart and waits for it. One info line lists what changed; \
         a file with an error, or naming a file that cannot be used, is logged in one error \
         line and nothing changes. systemctl reload robustmq sends it.",
    );
    files_section(roff);
    roff.control("SH", ["EXAMPLES"]);
    paragraph(
        roff,
        "Write the commented defaults to a file, edit it, check it, then run with it:",
    );
    preformatted(
        roff,
        [
            "robustmq serve --print-default-config > robustmq.toml",
            "robustmq serve --check-config robustmq.toml",
            "robustmq serve --config robustmq.toml",
        ],
    );
    paragraph(
        roff,
        "Check the file of the installed service before restarting it:",
    );
    preformatted(
        roff,
        [
            &format!("robustmq serve --check-config {PACKAGED_CONFIG}"),
            "systemctl restart robustmq",
        ],
    );
}

fn files_section(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    item(
        roff,
        PACKAGED_CONFIG,
        "Configuration of the robustmq service installed by the package; see robustmq.toml(5). \
         serve and store use it when run without --config, if it exists \
         (ROBUSTMQ_SYSTEM_CONFIG names another file instead, or none when empty).",
    );
    item(
        roff,
        "/var/lib/robustmq",
        "Data directory of the service: robustmq.redb, robustmq.reserve (disk space kept for \
         when the disk fills, see store.reserve in robustmq.toml(5)), and robustmq.lock while a \
         broker runs.",
    );
    item(
        roff,
        "~/.local/share/robustmq",
        "Data directory when serve and store run without --data-dir and without a \
         configuration file (the user's data directory; it differs by platform). serve creates \
         a missing data directory with mode 0700.",
    );
}

/// SEE ALSO: the parent page and the configuration page, then the mosquitto counterparts.
fn see_also(roff: &mut Roff, root: &clap::Command, cmd: &clap::Command) {
    let name = page_name(cmd);
    let mut refs: Vec<String> = Vec::new();
    if name != "robustmq" {
        refs.push("robustmq(1)".into());
    }
    if let Some(parent) = name.rsplit_once('-').map(|(parent, _)| parent) {
        if parent != "robustmq" {
            refs.push(format!("{parent}(1)"));
        }
    }
    if name == "robustmq" {
        refs.extend(
            root.get_subcommands()
                .filter(|sub| !sub.is_hide_set())
                .map(|sub| format!("{}(1)", page_name(sub))),
        );
    }
    refs.push("robustmq.toml(5)".into());
    match name {
        "robustmq-pub" => refs.push("mosquitto_pub(1)".into()),
        "robustmq-sub" => refs.push("mosquitto_sub(1)".into()),
        "robustmq-serve" => refs.push("systemd.service(5)".into()),
        _ => {}
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(refs.join(", "))]);
}
