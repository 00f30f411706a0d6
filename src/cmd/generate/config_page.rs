//! robustmq.toml(5): the configuration file's man page, made from the commented default
//! configuration the broker embeds, so the page and `serve --print-default-config` cannot
//! disagree.
//!
//! The default file follows a few conventions that this parser relies on: a header comment
//! describing the format, then one `[table]` or `[[table]]` after another; each key is
//! preceded by the comment lines describing it; `key = value` is a default, `# key = value`
//! an example of a key without default; a comment paragraph that contains a commented-out
//! table header is an example of a whole table.

use clap_mangen::roff::{bold, italic, roman, Roff};

/// The parsed default configuration.
#[derive(Debug, Default, PartialEq)]
pub struct ConfigDoc {
    /// Paragraphs of the header comment, before the first table.
    pub intro: Vec<Block>,
    /// The tables, in file order.
    pub tables: Vec<Table>,
}

/// Text from comments: prose to fill, or lines to show as they are.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Sentences, joined into one paragraph.
    Prose(String),
    /// Lines kept as written (commands, TOML examples).
    Verbatim(Vec<String>),
}

/// One `[name]` or `[[name]]` table.
#[derive(Debug, Default, PartialEq)]
pub struct Table {
    /// The header as written, e.g. `[[listeners]]`.
    pub header: String,
    /// The comment directly above the header.
    pub intro: Vec<Block>,
    /// Keys, in file order.
    pub keys: Vec<Key>,
    /// Comment paragraphs that belong to no key (examples of the whole table).
    pub notes: Vec<Block>,
}

/// One key with its description.
#[derive(Debug, PartialEq)]
pub struct Key {
    /// The key name.
    pub name: String,
    /// The value as written in the file.
    pub value: String,
    /// True for `key = value` (the default), false for `# key = value` (an example).
    pub is_default: bool,
    /// The comment above it.
    pub doc: Vec<Block>,
}

/// Parses the commented default configuration (see the module documentation for the
/// conventions it must follow).
pub fn parse(text: &str) -> ConfigDoc {
    let mut parser = Parser::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        let comment = line.strip_prefix('#').map(|c| c.strip_prefix(' ').unwrap_or(c));
        match comment {
            // The title line ("robustmq configuration file."): the page has its own.
            Some(_) if i == 0 => {}
            _ if line.is_empty() => parser.end_paragraph(),
            Some(c) => parser.comment(c),
            None => parser.setting(line),
        }
    }
    parser.end_paragraph();
    parser.doc
}

/// State of [`parse`] between lines.
#[derive(Default)]
struct Parser {
    doc: ConfigDoc,
    /// Comment lines since the last key, header or blank line.
    pending: Vec<String>,
    /// A commented-out table in this paragraph: the lines from its header on.
    example: Option<Vec<String>>,
    /// The description of the previous key, while still in its paragraph: keys listed
    /// together under one comment (cert and key) share it.
    shared_doc: Option<Vec<Block>>,
}

impl Parser {
    fn comment(&mut self, c: &str) {
        if let Some(example) = &mut self.example {
            example.push(c.to_owned());
        } else if table_header(c).is_some() && !self.doc.tables.is_empty() {
            self.example = Some(vec![c.to_owned()]);
        } else if let Some((name, value)) = key_value(c).filter(|_| !self.doc.tables.is_empty()) {
            self.key(name, value, false);
        } else {
            self.pending.push(c.to_owned());
        }
    }

    fn setting(&mut self, line: &str) {
        if let Some(header) = table_header(line) {
            self.doc.tables.push(Table {
                header: header.to_owned(),
                intro: blocks(&std::mem::take(&mut self.pending)),
                ..Table::default()
            });
            self.shared_doc = None;
        } else if let Some((name, value)) = key_value(line) {
            self.key(name, value, true);
        }
    }

    fn key(&mut self, name: &str, value: &str, is_default: bool) {
        let mut doc = blocks(&std::mem::take(&mut self.pending));
        if doc.is_empty() {
            doc = self.shared_doc.clone().unwrap_or_default();
        }
        self.shared_doc = Some(doc.clone());
        let key = Key {
            name: name.to_owned(),
            value: value.to_owned(),
            is_default,
            doc,
        };
        match self.doc.tables.last_mut() {
            Some(table) => table.keys.push(key),
            // A key before any table belongs to TOML's root table; the default file has none.
            None => self.doc.tables.push(Table {
                header: "(top level)".into(),
                keys: vec![key],
                ..Table::default()
            }),
        }
    }

    /// A blank line: comments not followed by a key describe the table (or the whole file).
    fn end_paragraph(&mut self) {
        let mut found = blocks(&std::mem::take(&mut self.pending));
        found.extend(self.example.take().map(Block::Verbatim));
        self.shared_doc = None;
        match self.doc.tables.last_mut() {
            Some(table) => table.notes.extend(found),
            None => self.doc.intro.extend(found),
        }
    }
}

/// `[name]` or `[[name]]`.
fn table_header(line: &str) -> Option<&str> {
    let line = line.trim();
    let name = line.strip_prefix('[')?.strip_suffix(']')?;
    let name = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    bare.then_some(line)
}

/// `name = value` with a bare key.
fn key_value(line: &str) -> Option<(&str, &str)> {
    let (name, value) = line.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    (bare && !value.is_empty() && !line.starts_with(' ')).then_some((name, value))
}

/// Groups comment lines into blocks: prose paragraphs (consecutive ordinary lines; an empty
/// comment line or a line starting with a label such as `periodic:` begins a new one, and
/// lines indented to hang under the label's text continue it), and verbatim text (other
/// indented lines, like a command to type).
fn blocks(lines: &[String]) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    // Column where the text after the current paragraph's label starts.
    let mut hang: Option<usize> = None;
    for line in lines {
        let text = line.trim();
        let indent = line.len() - line.trim_start().len();
        if text.is_empty() {
            blocks.push(Block::Prose(String::new()));
            hang = None;
            continue;
        }
        let continues = hang == Some(indent) && matches!(blocks.last(), Some(Block::Prose(_)));
        if indent >= 2 && !continues {
            match blocks.last_mut() {
                Some(Block::Verbatim(v)) => v.push(text.to_owned()),
                _ => blocks.push(Block::Verbatim(vec![text.to_owned()])),
            }
            hang = None;
            continue;
        }
        if indent == 0 {
            if let Some(label) = label(text) {
                blocks.push(Block::Prose(String::new()));
                hang = Some(label.len() + 1);
            }
        }
        match blocks.last_mut() {
            Some(Block::Prose(p)) if p.is_empty() => p.push_str(text),
            Some(Block::Prose(p)) => {
                p.push(' ');
                p.push_str(text);
            }
            _ => blocks.push(Block::Prose(text.to_owned())),
        }
    }
    blocks.retain(|b| !matches!(b, Block::Prose(p) if p.is_empty()));
    blocks
}

/// `periodic:` in `periodic: commit every ...`: a single word (`/` and `_` allowed) and a
/// colon that start the line.
fn label(text: &str) -> Option<&str> {
    let (word, _) = text.split_once(": ")?;
    let is_word = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '_');
    is_word.then_some(&text[..word.len() + 1])
}

/// Renders robustmq.toml(5) from the default configuration text. `packaged` is where the
/// package installs the file; `see_also` lists pages besides robustmq(1), e.g.
/// `robustmq-serve(1)`.
pub fn render(default_config: &str, packaged: &str, manual: &str, see_also: &[String]) -> String {
    let doc = parse(default_config);
    let version = format!("robustmq {}", env!("CARGO_PKG_VERSION"));
    let mut roff = Roff::new();
    roff.control(
        "TH",
        ["robustmq.toml", "5", super::NO_DATE, version.as_str(), manual],
    );
    roff.control("SH", ["NAME"]);
    roff.text([roman(
        "robustmq.toml - configuration file of the robustmq MQTT broker",
    )]);

    roff.control("SH", ["SYNOPSIS"]);
    roff.text([italic(packaged)]);
    roff.control("br", []);
    roff.text([bold("robustmq serve --config"), roman(" "), italic("FILE")]);

    roff.control("SH", ["DESCRIPTION"]);
    roff.text([
        roman("The configuration of "),
        bold("robustmq serve"),
        roman(", in TOML. "),
        bold("robustmq serve --print-default-config"),
        roman(" prints the file this page describes, every key with its default and a comment."),
    ]);
    render_blocks(&mut roff, &doc.intro);

    roff.control("SH", ["SETTINGS"]);
    for table in &doc.tables {
        roff.control("SS", [table.header.as_str()]);
        render_blocks(&mut roff, &table.intro);
        for key in &table.keys {
            roff.control("TP", []);
            roff.text([bold(&key.name), roman(" = "), roman(&key.value)]);
            render_key_doc(&mut roff, key);
        }
        render_blocks(&mut roff, &table.notes);
    }

    roff.control("SH", ["FILES"]);
    roff.control("TP", []);
    roff.text([italic(packaged)]);
    roff.text([roman(
        "The configuration of the robustmq service installed by the package. After editing it, \
         check it with robustmq serve --check-config, then restart the service.",
    )]);

    roff.control("SH", ["SEE ALSO"]);
    let refs: Vec<&str> = std::iter::once("robustmq(1)")
        .chain(see_also.iter().map(String::as_str))
        .collect();
    roff.text([roman(refs.join(", "))]);
    roff.render()
}

/// A key's description: its comment, then whether the value shown is the default.
fn render_key_doc(roff: &mut Roff, key: &Key) {
    let mut first = true;
    for block in &key.doc {
        match block {
            Block::Prose(text) => {
                if !first {
                    roff.control("IP", []);
                }
                roff.text([roman(text)]);
            }
            Block::Verbatim(lines) => verbatim(roff, lines),
        }
        first = false;
    }
    if !first {
        roff.control("IP", []);
    }
    roff.text([italic(if key.is_default {
        "This is the default."
    } else {
        "Not set by default; the value shown is an example."
    })]);
}

fn render_blocks(roff: &mut Roff, blocks: &[Block]) {
    for block in blocks {
        match block {
            Block::Prose(text) => {
                roff.control("PP", []);
                roff.text([roman(text)]);
            }
            Block::Verbatim(lines) => verbatim(roff, lines),
        }
    }
}

/// Lines shown as written, indented, without filling.
fn verbatim(roff: &mut Roff, lines: &[String]) {
    roff.control("RS", ["4"]);
    roff.control("nf", []);
    for line in lines {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
    roff.control("RE", []);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# Title line.
#
# Every key is optional. Check a file with
#     robustmq serve --check-config FILE
# and more prose.

[server]
# Where data lives.
# data_dir = \"/var/lib/x\"

# How often.
sys_interval = \"10s\"


# One table per socket.
[[listeners]]
bind = \"127.0.0.1:1883\"

# For example:
# [[listeners]]
# bind = \"0.0.0.0:8883\"
";

    #[test]
    fn parses_tables_keys_defaults_and_examples() {
        let doc = parse(SAMPLE);
        assert_eq!(
            doc.intro,
            vec![
                Block::Prose("Every key is optional. Check a file with".into()),
                Block::Verbatim(vec!["robustmq serve --check-config FILE".into()]),
                Block::Prose("and more prose.".into()),
            ]
        );
        let headers: Vec<&str> = doc.tables.iter().map(|t| t.header.as_str()).collect();
        assert_eq!(headers, ["[server]", "[[listeners]]"]);
        let server = &doc.tables[0];
        assert_eq!(server.keys.len(), 2);
        assert_eq!(server.keys[0].name, "data_dir");
        assert_eq!(server.keys[0].value, "\"/var/lib/x\"");
        assert!(!server.keys[0].is_default);
        assert_eq!(server.keys[0].doc, vec![Block::Prose("Where data lives.".into())]);
        assert!(server.keys[1].is_default);
        let listeners = &doc.tables[1];
        assert_eq!(
            listeners.intro,
            vec![Block::Prose("One table per socket.".into())]
        );
        assert_eq!(listeners.keys.len(), 1, "the example's bind is not a second key");
        assert_eq!(
            listeners.notes,
            vec![
                Block::Prose("For example:".into()),
                Block::Verbatim(vec!["[[listeners]]".into(), "bind = \"0.0.0.0:8883\"".into()]),
            ]
        );
    }

    #[test]
    fn the_page_names_every_key_of_the_default_config() {
        let page = render(
            crate::config::DEFAULT_CONFIG,
            "/etc/robustmq/robustmq.toml",
            "m",
            &[],
        );
        let doc = parse(crate::config::DEFAULT_CONFIG);
        let keys: Vec<&Key> = doc.tables.iter().flat_map(|t| &t.keys).collect();
        assert!(keys.len() >= 20, "{keys:?}");
        for key in keys {
            assert!(
                page.contains(&format!("\\fB{}\\fR = ", key.name)),
                "{} missing",
                key.name
            );
        }
    }
}
