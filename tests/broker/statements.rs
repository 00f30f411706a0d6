//! The coverage table `tests/conformance/STATEMENTS.md` stays true: every statement id the code
//! cites is in it, every test it names exists and cites the statement it proves, its counts add
//! up. No broker is started.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const TABLE: &str = "tests/conformance/STATEMENTS.md";

/// The four statuses a row may have, in the order of the counts table's columns.
const STATUSES: [&str; 4] = ["covered", "client only", "not applicable", "not covered"];

/// The two tables, by the heading that opens each and the name its counts row uses.
const VERSIONS: [&str; 2] = ["MQTT 3.1.1", "MQTT 5.0"];

struct Row {
    id: String,
    status: String,
    proof: String,
    line: usize,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `MQTT-x.y.z-n` in `text`, without the brackets. Written out rather than with a regex:
/// the shape is simple and the crate has no regex dependency to lean on.
fn cited_ids(text: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("MQTT-") {
        let tail = &rest[at + 5..];
        if let Some(len) = id_len(tail) {
            ids.push(format!("MQTT-{}", &tail[..len]));
        }
        rest = tail;
    }
    ids
}

/// The length of `d.d.d-d` (each `d` one or more digits) at the start of `s`, if it is there.
fn id_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    for (n, sep) in [b'.', b'.', b'-', 0].into_iter().enumerate() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        if n == 3 {
            return Some(i);
        }
        if bytes.get(i) != Some(&sep) {
            return None;
        }
        i += 1;
    }
    None
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// What the table file says.
struct Parsed {
    /// The rows of each version's table.
    rows: BTreeMap<&'static str, Vec<Row>>,
    /// The counts row of each version: statements, then one count per status.
    counts: BTreeMap<String, Vec<usize>>,
}

fn parse(table: &str) -> Parsed {
    let mut rows: BTreeMap<&'static str, Vec<Row>> = BTreeMap::new();
    let mut counts = BTreeMap::new();
    let mut section = None;
    for (n, line) in table.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = VERSIONS.into_iter().find(|v| heading.trim() == *v);
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 || !line.starts_with('|') {
            continue;
        }
        if VERSIONS.contains(&cells[1]) {
            counts.insert(
                cells[1].to_string(),
                cells[2..cells.len() - 1]
                    .iter()
                    .map(|c| c.parse().unwrap_or(usize::MAX))
                    .collect(),
            );
        } else if let (Some(version), Some(id)) = (
            section,
            cells[1].strip_prefix('[').and_then(|c| c.strip_suffix(']')),
        ) {
            rows.entry(version).or_default().push(Row {
                id: id.to_string(),
                status: cells.get(3).unwrap_or(&"").to_string(),
                proof: cells.get(4).unwrap_or(&"").to_string(),
                line: n + 1,
            });
        }
    }
    Parsed { rows, counts }
}

/// The `path::function` references in backquotes in `text`.
fn test_refs(text: &str) -> Vec<(String, String)> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|r| r.split_once(".rs::"))
        .map(|(path, name)| (format!("{path}.rs"), name.to_string()))
        .collect()
}

/// Whether `source` has a test function `name`: `fn name(` under `#[test]` or `#[tokio::test]`,
/// maybe with other attributes and comments between, or one of the two names of a
/// `both_versions!` test (`fn name_v311,` then `name_v5(level = ...)`, on one line or two).
fn has_test(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        let signature = line.trim_start();
        let signature = signature.strip_prefix("async ").unwrap_or(signature);
        let named = signature.starts_with(&format!("fn {name}("))
            || signature.starts_with(&format!("fn {name},"))
            || (signature.starts_with("fn ") && signature.contains(&format!(", {name}(")))
            || (i > 0
                && lines[i - 1].trim_end().ends_with(',')
                && signature.starts_with(&format!("{name}(")));
        if !named {
            return false;
        }
        // The second name of a two-line `both_versions!` header: its attributes are above the first.
        let header = if signature.starts_with("fn ") { i } else { i - 1 };
        lines[..header]
            .iter()
            .rev()
            .map(|l| l.trim())
            .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
            .any(|l| l.starts_with("#[test]") || l.starts_with("#[tokio::test"))
    })
}

#[test]
fn statements_table_matches_the_code() {
    let root = root();
    let table = fs::read_to_string(root.join(TABLE)).expect("the table is readable");
    let Parsed { rows: tables, counts } = parse(&table);
    let mut problems = Vec::new();

    let mut sources = Vec::new();
    rust_files(&root.join("tests"), &mut sources);
    rust_files(&root.join("src"), &mut sources);
    let sources: BTreeMap<PathBuf, String> = sources
        .into_iter()
        .filter_map(|p| {
            Some((
                p.strip_prefix(&root).ok()?.to_path_buf(),
                fs::read_to_string(&p).ok()?,
            ))
        })
        .collect();
    let cited_in: BTreeMap<&PathBuf, BTreeSet<String>> = sources
        .iter()
        .map(|(path, text)| (path, cited_ids(text).into_iter().collect()))
        .collect();

    let mut listed = BTreeSet::new();
    for version in VERSIONS {
        let rows = tables.get(version).map(Vec::as_slice).unwrap_or_default();
        if rows.is_empty() {
            problems.push(format!("{TABLE}: no table under \"## {version}\""));
        }
        let mut seen = BTreeSet::new();
        let mut tally = [0usize; 4];
        for row in rows {
            let at = format!("{TABLE}:{} {version} [{}]", row.line, row.id);
            if cited_ids(&row.id) != [row.id.clone()] {
                problems.push(format!("{at}: not a statement id"));
            }
            if !seen.insert(row.id.clone()) {
                problems.push(format!("{at}: listed twice"));
            }
            listed.insert(row.id.clone());
            match STATUSES.iter().position(|s| *s == row.status) {
                Some(i) => tally[i] += 1,
                None => problems.push(format!("{at}: unknown status {:?}", row.status)),
            }
            let refs = test_refs(&row.proof);
            if row.status == "covered" && refs.is_empty() {
                problems.push(format!("{at}: covered, but by no test"));
            }
            for (path, name) in refs {
                let Some(source) = sources.get(Path::new(&path)) else {
                    problems.push(format!("{at}: {path} does not exist"));
                    continue;
                };
                if !has_test(source, &name) {
                    problems.push(format!("{at}: {path} has no test {name}"));
                } else if row.status == "covered" && !cited_in[&PathBuf::from(&path)].contains(&row.id) {
                    problems.push(format!("{at}: {path} never cites {} ({name})", row.id));
                }
            }
        }
        let total = [vec![rows.len()], tally.to_vec()].concat();
        match counts.get(version) {
            Some(said) if *said == total => {}
            said => problems.push(format!(
                "{TABLE}: the counts row of {version} says {said:?}; the table has {total:?}"
            )),
        }
    }

    for (path, ids) in &cited_in {
        for id in ids.difference(&listed) {
            problems.push(format!(
                "{}: cites {id}, which neither table lists",
                path.display()
            ));
        }
    }

    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn cited_ids_reads_only_whole_ids() {
    // Built with `p` so that this file cites no id itself.
    let p = "MQTT-";
    let text = format!("a [{p}3.1.2-24] b {p}4.7 c [{p}3.12] d {p}1.5.4-10x e {p}3.1.2- {p}3.1.2.7");
    assert_eq!(cited_ids(&text), [format!("{p}3.1.2-24"), format!("{p}1.5.4-10")]);
}
