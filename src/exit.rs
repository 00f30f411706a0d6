//! Every exit code of every subcommand, in one table: the commands exit through [`Exit`], and
//! their `--help` and the EXIT STATUS sections of the man pages are written from [`TABLE`].
//!
//! A number means one thing within a command. Across commands two numbers have two meanings,
//! kept because scripts rely on them: 3 and 4 are "cannot connect" and "refused" for the
//! clients but "cannot start" and "data file unusable" for `serve` (and 4 for `store`). The
//! summary in `robustmq --help` says which is which.
//!
//! Imports nothing from the crate, so that every layer that ends the process (the command
//! line, the subcommands, the bench's second Ctrl-C) can use it.

use std::fmt::Write as _;

/// Why a command ends, as a script sees it. The number ([`Exit::code`]) is the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Done.
    Success,
    /// The work failed once under way; each command says how.
    Failed,
    /// A bad flag or value (clap's own errors exit with it too); for `serve`, also a
    /// configuration that cannot be used.
    Usage,
    /// A client command cannot reach the broker.
    Unreachable,
    /// `serve`: the broker cannot start.
    NotStarted,
    /// The broker refused the connection (CONNACK).
    Refused,
    /// `serve`, `store`: the data file cannot be opened.
    DataUnusable,
    /// `import`: the file to import cannot be read, or is not what it should be.
    BadInput,
    /// The broker refused a message or a subscription.
    Rejected,
    /// The broker did not answer in time.
    Timeout,
    /// `bench --compare`: a figure worse than the baseline beyond `--threshold`.
    Regressed,
    /// `sub -W` expired.
    WaitExpired,
    /// A second interrupt arrived while stopping.
    Interrupted,
}

impl Exit {
    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Unreachable | Exit::NotStarted => 3,
            Exit::Refused | Exit::DataUnusable | Exit::BadInput => 4,
            Exit::Rejected => 5,
            Exit::Timeout => 6,
            Exit::Regressed => 7,
            // As mosquitto_sub -W.
            Exit::WaitExpired => 27,
            // 128 + SIGINT, what a shell reports for a process the signal killed.
            Exit::Interrupted => 130,
        }
    }

    /// A few words for the summary of every command's codes.
    pub const fn summary(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failed => "the work failed once under way",
            Exit::Usage => "usage error: a bad flag or value (serve: or the configuration)",
            Exit::Unreachable => "cannot connect to the broker",
            Exit::NotStarted => "the broker cannot start",
            Exit::Refused => "the broker refused the connection",
            Exit::DataUnusable => "the data file cannot be opened",
            Exit::BadInput => "the file to import cannot be read or is not a configuration",
            Exit::Rejected => "the broker refused a message or a subscription",
            Exit::Timeout => "timed out waiting for the broker",
            Exit::Regressed => "a figure regressed beyond --threshold of the --compare baseline",
            Exit::WaitExpired => "-W expired",
            Exit::Interrupted => "a second interrupt while stopping",
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit.code())
    }
}

/// The exit codes of one command, in the order `--help` lists them, each with what it means
/// for that command.
#[derive(Debug)]
pub struct Codes {
    /// The command as typed after `robustmq`: `store verify`; `""` for `robustmq` itself.
    /// A subcommand without an entry of its own has its parent's.
    pub command: &'static str,
    /// Ways it ends and what each means here.
    pub rows: &'static [(Exit, &'static str)],
}

const USAGE: (Exit, &str) = (Exit::Usage, "usage error: a bad flag or value");

/// `store` reads the configuration for its data directory, as `serve` does.
const STORE_USAGE: (Exit, &str) = (
    Exit::Usage,
    "usage error: a bad flag or value, or a configuration file that cannot be read or is invalid",
);

/// Every command's exit codes.
pub const TABLE: &[Codes] = &[
    Codes {
        command: "serve",
        rows: &[
            (
                Exit::Success,
                "clean shutdown after SIGINT or SIGTERM; with --check-config: the configuration \
                 is valid",
            ),
            (
                Exit::Usage,
                "the configuration cannot be used, or --check-config found it invalid (one line \
                 on stderr names the file, the key and the problem); also a bad flag or value",
            ),
            (
                Exit::NotStarted,
                "the broker cannot start, for example because an address is in use",
            ),
            (
                Exit::DataUnusable,
                "the data directory cannot be created or used: another broker holds it, its \
                 file is corrupt, empty, not a robustmq store or from a newer version (it is never \
                 modified in that case), or it holds other files but no data file (only an \
                 empty directory starts a new store)",
            ),
            (Exit::Interrupted, "a second signal arrived during shutdown"),
        ],
    },
    Codes {
        command: "store",
        rows: &[
            (Exit::Success, "done (verify: every check passed)"),
            (
                Exit::Failed,
                "verify found problems, export --salvage could not read everything, or the \
                 output could not be written",
            ),
            STORE_USAGE,
            (
                Exit::DataUnusable,
                "the data file cannot be opened: missing, locked by a running broker, corrupt, \
                 empty, or written by a newer robustmq; it is left untouched",
            ),
        ],
    },
    Codes {
        command: "store stats",
        rows: STORE_STATS_AND_COMPACT,
    },
    Codes {
        command: "store verify",
        rows: &[
            (Exit::Success, "every check passed"),
            (
                Exit::Failed,
                "problems were found (each is printed), or the output could not be written",
            ),
            STORE_USAGE,
            (
                Exit::DataUnusable,
                "the data file cannot be opened, so nothing could be checked record by record: \
                 missing, locked by a running broker, corrupt (a damaged page, not a redb file, \
                 empty), or written by a newer robustmq; the reason is printed",
            ),
        ],
    },
    Codes {
        command: "store export",
        rows: &[
            (Exit::Success, "every record was exported"),
            (
                Exit::Failed,
                "the output could not be written; with --salvage: the file is damaged and what \
                 could not be read is listed on stderr (everything that could be read was \
                 exported)",
            ),
            STORE_USAGE,
            (
                Exit::DataUnusable,
                "the data file cannot be opened: missing, locked by a running broker, corrupt \
                 (without --salvage; with it, only a file redb cannot open at all), empty, or \
                 written by a newer robustmq; it is left untouched",
            ),
        ],
    },
    Codes {
        command: "store compact",
        rows: STORE_STATS_AND_COMPACT,
    },
    Codes {
        command: "pub",
        rows: &[
            (
                Exit::Success,
                "every message was sent (and acknowledged, at QoS 1 and 2)",
            ),
            (
                Exit::Failed,
                "the connection failed once made (closed by the broker, lost, protocol error), \
                 or a file or stdin could not be read",
            ),
            (
                Exit::Usage,
                "usage error: a bad flag or value, an invalid topic, TLS files that cannot be \
                 used, or a ws:// URL (not supported by the client commands)",
            ),
            UNREACHABLE,
            REFUSED,
            (
                Exit::Rejected,
                "the broker refused a message (MQTT 5 PUBACK/PUBREC reason), or cannot take it \
                 (QoS above its maximum, retain unavailable, packet too large)",
            ),
            (
                Exit::Timeout,
                "timed out waiting for the broker (CONNACK, PINGRESP)",
            ),
        ],
    },
    Codes {
        command: "sub",
        rows: &[
            (
                Exit::Success,
                "done: -C messages printed, -E, --retained-only finished, or interrupted (Ctrl-C)",
            ),
            (
                Exit::Failed,
                "the connection failed once made (closed by the broker, lost, protocol error)",
            ),
            (
                Exit::Usage,
                "usage error: a bad flag or value, an invalid topic filter, TLS files that \
                 cannot be used, or a ws:// URL (not supported by the client commands)",
            ),
            UNREACHABLE,
            REFUSED,
            (
                Exit::Rejected,
                "the broker refused a subscription (each refused filter is printed with its \
                 reason), or a --remove-retained publish",
            ),
            (
                Exit::Timeout,
                "timed out waiting for the broker (CONNACK, PINGRESP)",
            ),
            (Exit::WaitExpired, "-W expired (as mosquitto_sub)"),
        ],
    },
    Codes {
        command: "bench",
        rows: &[
            (
                Exit::Success,
                "the run finished without errors (the figures are printed)",
            ),
            (
                Exit::Failed,
                "the run finished, but clients hit errors (connections lost, publishes never \
                 acknowledged), or QoS 1/2 messages the broker acknowledged never arrived; the \
                 figures are printed, the verdict first. Publishes the broker refused are \
                 counted, not failures. Also: interrupted (Ctrl-C) while connecting",
            ),
            (
                Exit::Usage,
                "usage error: a bad flag or value, an unreadable --compare file",
            ),
            (
                Exit::Unreachable,
                "clients cannot connect: host not found, connection refused, unreachable",
            ),
            (Exit::Refused, "the broker refused connections (CONNACK)"),
            (Exit::Rejected, "the broker refused a subscription"),
            (
                Exit::Timeout,
                "timed out waiting for the broker (CONNACK, SUBACK)",
            ),
            (
                Exit::Regressed,
                "otherwise clean, but --compare found a throughput or latency figure (up to p99) \
                 worse than the baseline by more than --threshold",
            ),
            (
                Exit::Interrupted,
                "a second Ctrl-C: stopped at once, without the figures",
            ),
        ],
    },
    Codes {
        command: "passwd",
        rows: &[
            (Exit::Success, "done"),
            (
                Exit::Failed,
                "the file cannot be read or written, the user to delete does not exist, or the \
                 password is empty, was typed differently twice, or cannot be read",
            ),
            (
                Exit::Usage,
                "usage error, or a user name that cannot go in the file",
            ),
        ],
    },
    Codes {
        command: "certs",
        rows: &[
            (Exit::Success, "the files were written"),
            (
                Exit::Failed,
                "a file exists (and no --force), or the directory or a file cannot be written",
            ),
            USAGE,
        ],
    },
    Codes {
        command: "top",
        rows: &[
            (Exit::Success, "quit (q)"),
            (
                Exit::Failed,
                "stdin or stdout is not a terminal, or the terminal failed",
            ),
            (
                Exit::Usage,
                "usage error: a bad flag or value, or TLS files that cannot be used",
            ),
        ],
    },
    Codes {
        command: "import",
        rows: &[
            (
                Exit::Success,
                "the configuration was written; the settings that did not carry over are \
                 listed on stderr",
            ),
            (
                Exit::Failed,
                "the output file exists (and no --force) or cannot be written, or the \
                 translation failed the configuration check (a bug to report; nothing is \
                 written)",
            ),
            USAGE,
            (
                Exit::BadInput,
                "the file cannot be read, or is not a Mosquitto configuration",
            ),
        ],
    },
    Codes {
        command: "generate",
        rows: &[
            (Exit::Success, "the files were written (and listed)"),
            (Exit::Failed, "the directory or a file cannot be written"),
            USAGE,
        ],
    },
];

const STORE_STATS_AND_COMPACT: &[(Exit, &str)] = &[
    (Exit::Success, "done"),
    (Exit::Failed, "the output could not be written"),
    STORE_USAGE,
    (
        Exit::DataUnusable,
        "the data file cannot be opened: missing, locked by a running broker, corrupt (a \
         damaged page, not a redb file, empty), or written by a newer robustmq; it is left \
         untouched",
    ),
];

const UNREACHABLE: (Exit, &str) = (
    Exit::Unreachable,
    "cannot connect: host not found, connection refused, unreachable, timed out, TLS \
     handshake failed",
);

const REFUSED: (Exit, &str) = (
    Exit::Refused,
    "the broker refused the connection (the CONNACK reason is printed, e.g. \"not authorized\")",
);

/// The heading of every list of exit codes in `--help`.
pub const HEADING: &str = "Exit codes:";

/// Where help text is wrapped, as clap wraps it when the output is not a terminal.
const WIDTH: usize = 100;

/// The exit codes of `command` (`store verify`; `""` for `robustmq`), or of the nearest
/// parent that has them; `robustmq` itself has none of its own.
pub fn codes(command: &str) -> &'static [(Exit, &'static str)] {
    let mut path = command.trim();
    loop {
        if let Some(entry) = TABLE.iter().find(|entry| entry.command == path) {
            return entry.rows;
        }
        match path.rsplit_once(' ') {
            Some((parent, _)) => path = parent,
            None => return &[],
        }
    }
}

/// The exit codes of `command` as `--help` ends with them: the heading, then one
/// `  CODE  meaning` entry per code, wrapped, the meanings lined up.
pub fn help(command: &str) -> String {
    let rows: Vec<(u8, String)> = codes(command)
        .iter()
        .map(|(exit, meaning)| (exit.code(), (*meaning).to_owned()))
        .collect();
    format_list(&rows)
}

/// Every number any command exits with, and what it means for which commands: the end of
/// `robustmq --help` and the EXIT STATUS of robustmq(1).
pub fn summary() -> String {
    let mut list = format_list(&summary_rows());
    list.push('\n');
    list.push_str(SUMMARY_NOTE);
    list
}

/// The line after the summary.
pub const SUMMARY_NOTE: &str = "Each command's --help and man page say what a code means for it.";

/// (code, meaning) for [`summary`]: for each number, each [`Exit`] with it and the commands
/// that use it, unless every command does.
pub fn summary_rows() -> Vec<(u8, String)> {
    let commands = top_level_commands();
    let mut exits: Vec<Exit> = Vec::new();
    for entry in TABLE {
        for (exit, _) in entry.rows {
            if !exits.contains(exit) {
                exits.push(*exit);
            }
        }
    }
    exits.sort_by_key(|exit| exit.code());
    let mut rows: Vec<(u8, String)> = Vec::new();
    for exit in exits {
        let users: Vec<&str> = commands
            .iter()
            .copied()
            .filter(|command| uses(command, exit))
            .collect();
        let meaning = if users.len() == commands.len() {
            exit.summary().to_owned()
        } else {
            format!("{}: {}", users.join(", "), exit.summary())
        };
        match rows.last_mut() {
            Some((code, text)) if *code == exit.code() => {
                text.push_str("; ");
                text.push_str(&meaning);
            }
            _ => rows.push((exit.code(), meaning)),
        }
    }
    rows
}

/// The visible top-level commands of the table, in its order (`generate` is hidden).
fn top_level_commands() -> Vec<&'static str> {
    let mut commands: Vec<&str> = Vec::new();
    for entry in TABLE {
        let top = entry.command.split(' ').next().unwrap_or_default();
        if !top.is_empty() && top != "generate" && !commands.contains(&top) {
            commands.push(top);
        }
    }
    commands
}

/// Whether `command` or any of its subcommands in the table exits with `exit`.
fn uses(command: &str, exit: Exit) -> bool {
    let below = format!("{command} ");
    TABLE
        .iter()
        .filter(|entry| entry.command == command || entry.command.starts_with(&below))
        .any(|entry| entry.rows.iter().any(|(e, _)| *e == exit))
}

/// The heading and the `  CODE  meaning` lines, wrapped at [`WIDTH`].
fn format_list(rows: &[(u8, String)]) -> String {
    let width = rows
        .iter()
        .map(|(code, _)| code.to_string().len())
        .max()
        .unwrap_or(1);
    let indent = " ".repeat(2 + width + 2);
    let mut text = String::from(HEADING);
    for (code, meaning) in rows {
        let _ = write!(text, "\n  {code:<width$}  ");
        let mut column = indent.len();
        let mut first = true;
        for word in meaning.split_whitespace() {
            if !first && column + 1 + word.len() > WIDTH {
                text.push('\n');
                text.push_str(&indent);
                column = indent.len();
                first = true;
            }
            if !first {
                text.push(' ');
                column += 1;
            }
            text.push_str(word);
            column += word.len();
            first = false;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_command_lists_a_number_twice_and_each_lists_success_first() {
        for entry in TABLE {
            let numbers: Vec<u8> = entry.rows.iter().map(|(exit, _)| exit.code()).collect();
            let mut sorted = numbers.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(numbers, sorted, "{:?}", entry.command);
            assert_eq!(numbers.first(), Some(&0), "{:?}", entry.command);
        }
    }

    #[test]
    fn clap_rejects_a_bad_flag_with_the_usage_code() {
        // clap exits by itself before any command runs; the table only describes that code.
        let error = clap::Command::new("robustmq")
            .try_get_matches_from(["robustmq", "--no-such-flag"])
            .unwrap_err();
        assert_eq!(error.exit_code(), i32::from(Exit::Usage.code()));
    }

    #[test]
    fn a_subcommand_without_an_entry_has_its_parents() {
        assert_eq!(codes("bench pubsub").len(), codes("bench").len());
        assert_eq!(codes("store verify")[1].1, codes(" store verify ")[1].1);
        assert!(codes("").is_empty());
        assert!(codes("no such command").is_empty());
    }

    #[test]
    fn help_lines_up_the_meanings_and_wraps_them() {
        let help = help("sub");
        assert!(help.starts_with("Exit codes:\n  0   done:"), "{help}");
        assert!(help.contains("\n  27  -W expired"), "{help}");
        for line in help.lines() {
            assert!(line.len() <= WIDTH, "{line:?}");
        }
        // A continuation line starts under the meaning, not under the code.
        assert!(help.contains("\n      "), "{help}");
    }

    #[test]
    fn the_summary_names_the_commands_a_shared_number_means_different_things_for() {
        let rows = summary_rows();
        let four = &rows.iter().find(|(code, _)| *code == 4).unwrap().1;
        assert!(
            four.contains("pub, sub, bench: the broker refused the connection"),
            "{four}"
        );
        assert!(
            four.contains("serve, store: the data file cannot be opened"),
            "{four}"
        );
        let zero = &rows.iter().find(|(code, _)| *code == 0).unwrap().1;
        assert_eq!(zero, "success");
    }
}
