//! `robustmq store stats|verify|export|compact`: the data directory of a stopped broker.
//!
//! Every subcommand takes the directory lock first, so none runs beside a broker, and only
//! `compact` ever writes to the data file. The exit codes are in [`crate::exit::TABLE`].

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine;
use bytesize::ByteSize;
use serde_json::{json, Map, Value};

use crate::cli::{StoreArgs, StoreCommand, StoreDirArgs, StoreExportArgs, StoreStatsArgs};
use crate::config::ConfigSource;
use crate::exit::Exit;
use crate::store::{
    self, DeliveryState, FileStats, Inspector, Record, StoreError, StoredMessage, StoredSession,
};

/// Runs a `robustmq store` subcommand.
pub fn run(args: StoreArgs) -> ExitCode {
    match args.command {
        StoreCommand::Stats(args) => stats(&args),
        StoreCommand::Verify(args) => verify(&args),
        StoreCommand::Export(args) => export(&args),
        StoreCommand::Compact(args) => compact(&args),
    }
}

/// Prints why the data file cannot be used and returns [`Exit::DataUnusable`].
fn refused(error: &StoreError) -> ExitCode {
    eprintln!("robustmq: {error}");
    ExitCode::from(Exit::DataUnusable)
}

/// The data directory `serve` would use with the same flags, and the configuration it came
/// from unless --data-dir named it; or why there is none.
fn locate(args: &StoreDirArgs) -> Result<(PathBuf, Option<ConfigSource>), ExitCode> {
    let source = ConfigSource::locate(args.config.as_deref());
    match source.load(args.data_dir.as_deref()) {
        Ok(settings) => Ok((
            settings.server.data_dir,
            args.data_dir.is_none().then_some(source),
        )),
        Err(e) => {
            eprintln!("robustmq: {e}");
            Err(ExitCode::from(Exit::Usage))
        }
    }
}

/// Runs `open` on the located data directory; a refusal names the configuration the
/// directory came from, since the user may not have expected that one.
fn with_dir<T>(
    args: &StoreDirArgs,
    open: impl FnOnce(&Path) -> Result<T, StoreError>,
) -> Result<T, ExitCode> {
    let (dir, source) = locate(args)?;
    open(&dir).map_err(|e| match source {
        Some(source) => {
            eprintln!("robustmq: {e}; data_dir from {source}");
            ExitCode::from(Exit::DataUnusable)
        }
        None => refused(&e),
    })
}

fn open(dir: &StoreDirArgs) -> Result<Inspector, ExitCode> {
    with_dir(dir, Inspector::open)
}

fn stats(args: &StoreStatsArgs) -> ExitCode {
    let stats = match open(&args.dir).and_then(|i| i.stats().map_err(|e| refused(&e))) {
        Ok(stats) => stats,
        Err(code) => return code,
    };
    let text = if args.json {
        format!("{}\n", stats_json(&stats))
    } else {
        stats_table(&stats)
    };
    print_or_fail(&text)
}

/// The stats as one JSON object.
fn stats_json(s: &FileStats) -> Value {
    let tables: Vec<Value> = s
        .tables
        .iter()
        .map(|t| json!({"name": t.name, "entries": t.entries, "bytes": t.bytes}))
        .collect();
    json!({
        "path": s.path,
        "file_size": s.file_size,
        "allocated_bytes": s.allocated_bytes,
        "schema_version": s.schema_version,
        "tables": tables,
        "sessions": s.sessions,
        "deliveries": s.deliveries(),
        "deliveries_queued": s.deliveries_queued,
        "deliveries_sent": s.deliveries_sent,
        "deliveries_released": s.deliveries_released,
        "incoming_qos2": s.incoming_qos2,
        "retained": s.retained,
        "bad_records": s.bad_records,
    })
}

/// The stats as an aligned table for people.
fn stats_table(s: &FileStats) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    line(format!("data file       {}", s.path.display()));
    line(format!(
        "file size       {} ({} bytes; {} allocated)",
        ByteSize(s.file_size),
        s.file_size,
        ByteSize(s.allocated_bytes)
    ));
    line(match s.schema_version {
        Some(version) => format!("schema version  {version}"),
        None => "schema version  none (nothing was ever stored)".to_string(),
    });
    line(String::new());
    let width = s.tables.iter().map(|t| t.name.len()).max().unwrap_or(0).max(5);
    line(format!("{:<width$}  {:>10}  {:>14}", "table", "entries", "bytes"));
    for t in &s.tables {
        line(format!("{:<width$}  {:>10}  {:>14}", t.name, t.entries, t.bytes));
    }
    line(String::new());
    line("records".to_string());
    line(format!("  sessions             {:>10}", s.sessions));
    line(format!(
        "  deliveries           {:>10}  ({} queued, {} sent, {} released)",
        s.deliveries(),
        s.deliveries_queued,
        s.deliveries_sent,
        s.deliveries_released
    ));
    line(format!("  incoming QoS 2 ids   {:>10}", s.incoming_qos2));
    line(format!("  retained messages    {:>10}", s.retained));
    if s.bad_records > 0 {
        line(format!(
            "  do not decode        {:>10}  (robustmq store verify names them)",
            s.bad_records
        ));
    }
    out
}

fn verify(args: &StoreDirArgs) -> ExitCode {
    let result = match open(args).and_then(|i| i.verify().map_err(|e| refused(&e))) {
        Ok(result) => result,
        Err(code) => return code,
    };
    let mut out = format!("verifying {}\n", result.path.display());
    for check in &result.checks {
        let status = if check.problems.is_empty() { "ok  " } else { "FAIL" };
        out.push_str(&format!("{status}  {}\n", check.description));
        for problem in &check.problems {
            out.push_str(&format!("problem: {problem}\n"));
        }
    }
    for note in &result.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    let problems = result.problem_count();
    match problems {
        0 => out.push_str(&format!("clean: all {} checks passed\n", result.checks.len())),
        1 => out.push_str("1 problem found\n"),
        n => out.push_str(&format!("{n} problems found\n")),
    }
    let code = print_or_fail(&out);
    if problems > 0 {
        ExitCode::from(Exit::Failed)
    } else {
        code
    }
}

fn export(args: &StoreExportArgs) -> ExitCode {
    let opened = if args.salvage {
        with_dir(&args.dir, Inspector::open_salvage)
    } else {
        with_dir(&args.dir, Inspector::open)
    };
    let inspector = match opened {
        Ok(i) => i,
        Err(code) => return code,
    };
    let mut skipped = Vec::new();
    let salvage = args.salvage.then_some(&mut skipped);
    let written = match &args.output {
        None => {
            let mut out = BufWriter::new(io::stdout().lock());
            match write_records(&inspector, &mut out, salvage).and_then(|n| finish(out).map(|()| n)) {
                Ok(counts) => Ok(counts),
                // The reader went away (`| head`): it has what it wanted.
                Err(Failure::Write(e)) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
                Err(failure) => return failure.report("stdout"),
            }
        }
        Some(file) => export_to_file(&inspector, file, salvage),
    };
    let counts = match written {
        Ok(counts) => counts,
        Err(failure) => {
            let target = args
                .output
                .as_ref()
                .map_or("stdout".into(), |f| f.display().to_string());
            return failure.report(&target);
        }
    };
    let summary = format!(
        "{} sessions, {} deliveries, {} incoming QoS 2 ids and {} retained messages",
        counts.sessions, counts.deliveries, counts.incoming_qos2, counts.retained
    );
    let target = args
        .output
        .as_ref()
        .map(|f| format!(" to {}", f.display()))
        .unwrap_or_default();
    if !args.salvage {
        if args.output.is_some() {
            eprintln!("exported {summary}{target}");
        }
        return ExitCode::SUCCESS;
    }
    // Salvaging: say what could not be read, so nobody takes the export for the whole store.
    let losses = inspector.losses();
    for loss in &losses {
        eprintln!("robustmq: lost: {loss}");
    }
    for record in &skipped {
        eprintln!("robustmq: skipped: {record}");
    }
    if losses.is_empty() && skipped.is_empty() {
        eprintln!("salvaged {summary}{target}: the file is whole, nothing was lost");
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "salvaged {summary}{target} from the damaged file {}; {} records skipped, {} other losses (above)",
            inspector.path().display(),
            skipped.len(),
            losses.len()
        );
        ExitCode::from(Exit::Failed)
    }
}

/// Writes the export next to `file` and renames it into place once complete, so `file` is never
/// half an export.
fn export_to_file(
    inspector: &Inspector,
    file: &Path,
    salvage: Option<&mut Vec<String>>,
) -> Result<Counts, Failure> {
    let partial = partial_path(file);
    let written = File::create(&partial).map_err(Failure::Write).and_then(|f| {
        let mut out = BufWriter::new(f);
        let counts = write_records(inspector, &mut out, salvage)?;
        let f = out.into_inner().map_err(|e| Failure::Write(e.into_error()))?;
        f.sync_all().map_err(Failure::Write)?;
        fs::rename(&partial, file).map_err(Failure::Write)?;
        Ok(counts)
    });
    if written.is_err() {
        let _ = fs::remove_file(&partial);
    }
    written
}

/// Why an export stopped.
enum Failure {
    /// A record does not decode: the file is refused as the broker would refuse it.
    Store(StoreError),
    /// Writing the output failed.
    Write(io::Error),
}

impl Failure {
    fn report(self, target: &str) -> ExitCode {
        match self {
            Failure::Store(e) => refused(&e),
            Failure::Write(e) => {
                eprintln!("robustmq: cannot write the export to {target}: {e}");
                ExitCode::from(Exit::Failed)
            }
        }
    }
}

/// How many objects of each type an export wrote.
#[derive(Default)]
struct Counts {
    sessions: u64,
    deliveries: u64,
    incoming_qos2: u64,
    retained: u64,
}

fn finish(mut out: impl Write) -> Result<(), Failure> {
    out.flush().map_err(Failure::Write)
}

/// `FILE` → `.FILE.partial` in the same directory.
fn partial_path(file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy());
    file.with_file_name(format!(".{name}.partial"))
}

/// Writes every record as one JSON line. Stops at the first record that does not decode, unless
/// salvaging: then it is noted in `salvage` and skipped.
fn write_records(
    inspector: &Inspector,
    out: &mut impl Write,
    mut salvage: Option<&mut Vec<String>>,
) -> Result<Counts, Failure> {
    let mut counts = Counts::default();
    let mut failure = None;
    inspector
        .scan(|record| {
            let line = match record {
                Ok(record) => record_json(&record, &mut counts),
                Err(bad) => match salvage.as_deref_mut() {
                    Some(skipped) => {
                        skipped.push(bad.detail);
                        return ControlFlow::Continue(());
                    }
                    None => {
                        failure = Some(Failure::Store(inspector.refuse(bad)));
                        return ControlFlow::Break(());
                    }
                },
            };
            let written = serde_json::to_writer(&mut *out, &line)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            match written {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    failure = Some(Failure::Write(e));
                    ControlFlow::Break(())
                }
            }
        })
        .map_err(Failure::Store)?;
    match failure {
        Some(failure) => Err(failure),
        None => Ok(counts),
    }
}

/// One export line.
fn record_json(record: &Record, counts: &mut Counts) -> Value {
    match record {
        Record::Session(session) => {
            counts.sessions += 1;
            session_json(session)
        }
        Record::Delivery {
            client_id,
            seq,
            delivery,
        } => {
            counts.deliveries += 1;
            let (state, packet_id) = match delivery.state {
                DeliveryState::Queued => ("queued", None),
                DeliveryState::Sent { packet_id } => ("sent", Some(packet_id)),
                DeliveryState::Released { packet_id } => ("released", Some(packet_id)),
            };
            json!({
                "type": "delivery",
                "client_id": client_id,
                "seq": seq,
                "state": state,
                "packet_id": packet_id,
                "qos": delivery.qos,
                "retain": delivery.retain,
                "subscription_ids": delivery.subscription_ids,
                "message": message_json(&delivery.message),
            })
        }
        Record::IncomingQos2 { client_id, packet_id } => {
            counts.incoming_qos2 += 1;
            json!({"type": "incoming_qos2", "client_id": client_id, "packet_id": packet_id})
        }
        Record::Retained(message) => {
            counts.retained += 1;
            json!({"type": "retained", "message": message_json(message)})
        }
    }
}

fn session_json(session: &StoredSession) -> Value {
    let subscriptions: Vec<Value> = session
        .subscriptions
        .iter()
        .map(|s| {
            json!({
                "filter": s.filter,
                "qos": s.qos,
                "no_local": s.no_local,
                "retain_as_published": s.retain_as_published,
                "retain_handling": s.retain_handling,
                "id": s.id,
            })
        })
        .collect();
    let will = session.will.as_ref().map(|w| {
        json!({
            "delay_interval": w.delay_interval,
            "message": message_json(&w.message),
        })
    });
    json!({
        "type": "session",
        "client_id": session.client_id,
        "expiry_interval": session.expiry_interval,
        "offline_since_ms": session.offline_since_ms,
        "subscriptions": subscriptions,
        "will": will,
    })
}

/// A message; the payload and correlation data as UTF-8 strings when they are valid UTF-8, else
/// base64 under `payload_base64` / `correlation_data_base64`.
fn message_json(m: &StoredMessage) -> Value {
    let p = &m.properties;
    let mut properties = Map::new();
    properties.insert("payload_format_utf8".into(), json!(p.payload_format_utf8));
    properties.insert("content_type".into(), json!(p.content_type));
    properties.insert("response_topic".into(), json!(p.response_topic));
    match &p.correlation_data {
        Some(data) => put_bytes(&mut properties, "correlation_data", data),
        None => {
            properties.insert("correlation_data".into(), Value::Null);
        }
    }
    let user: Vec<Value> = p.user_properties.iter().map(|(k, v)| json!([k, v])).collect();
    properties.insert("user_properties".into(), Value::Array(user));

    let mut message = Map::new();
    message.insert("topic".into(), json!(m.topic));
    put_bytes(&mut message, "payload", &m.payload);
    message.insert("qos".into(), json!(m.qos));
    message.insert("retain".into(), json!(m.retain));
    message.insert("expires_at_ms".into(), json!(m.expires_at_ms));
    message.insert("publisher".into(), json!(m.publisher));
    message.insert("properties".into(), Value::Object(properties));
    Value::Object(message)
}

/// `name: "text"` for UTF-8 bytes, else `name_base64: "..."` (standard alphabet, padded).
fn put_bytes(object: &mut Map<String, Value>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => object.insert(name.into(), json!(text)),
        Err(_) => object.insert(
            format!("{name}_base64"),
            json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    };
}

fn compact(args: &StoreDirArgs) -> ExitCode {
    let done = match with_dir(args, store::compact) {
        Ok(done) => done,
        Err(code) => return code,
    };
    let text = format!(
        "compacted {}: {} -> {} bytes ({} -> {}, {} reclaimed)\n",
        done.path.display(),
        done.size_before,
        done.size_after,
        ByteSize(done.size_before),
        ByteSize(done.size_after),
        ByteSize(done.reclaimed())
    );
    print_or_fail(&text)
}

/// Prints `text` to stdout; a failed write is reported and exits [`Exit::Failed`].
fn print_or_fail(text: &str) -> ExitCode {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("robustmq: cannot write to stdout: {e}");
            ExitCode::from(Exit::Failed)
        }
    }
}
