//! `robustmq sub`: subscribe and print messages (mosquitto_sub style).

mod format;
mod json;
mod mosquitto_json;
mod pretty;

use std::collections::VecDeque;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{sleep_until, timeout, Instant};

use super::common::{self, Connection, Failure};
use crate::cli::SubArgs;
use crate::client::error::io_words;
use crate::client::reconnect::{is_lost, loss_words, reconnect, Backoff};
use crate::client::topic::check_topic_filter;
use crate::client::{reason_text, Client, Event};
use crate::exit::Exit;
use crate::protocol::topic::matches;
use crate::protocol::{Disconnect, Publish, QoS, ReasonCode, RetainHandling, Suback, SubscriptionOptions};
use format::Printer;

/// Packets that `-D` may give properties for.
const PROPERTY_COMMANDS: &[&str] = &["connect", "will", "disconnect"];
/// `--retained-only` ends when no message has come for this long after the SUBACK.
const RETAINED_QUIET: Duration = Duration::from_millis(500);
/// How long to finish `--remove-retained` publishes and say goodbye.
const GOODBYE: Duration = Duration::from_secs(5);

/// The checked command line.
#[derive(Debug)]
struct Plan {
    conn: Connection,
    filters: Vec<(Arc<str>, SubscriptionOptions)>,
    /// `-U`: filters to unsubscribe from once subscribed.
    unsubscribe: Vec<Arc<str>>,
    filter_out: Vec<String>,
    /// `--random-filter`: the percentage of messages to print.
    random_filter: Option<f64>,
    printer: Printer,
    count: Option<u64>,
    timeout: Option<Duration>,
    skip_retained: bool,
    retained_only: bool,
    remove_retained: bool,
    exit_after_subscribe: bool,
    /// Connect again when the connection is lost (not `--no-reconnect`).
    reconnect: bool,
    /// `--quiet`: no runtime errors or notices on stderr.
    quiet: bool,
    disconnect: Disconnect,
}

fn plan(args: SubArgs) -> Result<Plan, Failure> {
    let conn = common::connection(&args.conn, PROPERTY_COMMANDS)?;
    let v5 = conn.options.version.is_v5();
    for (given, flag) in [
        (args.no_local, "--no-local"),
        (args.retain_as_published, "--retain-as-published"),
        (args.retain_handling.is_some(), "--retain-handling"),
    ] {
        if given && !v5 {
            return Err(Failure::usage(format!("{flag} needs MQTT 5 (-V 5)")));
        }
    }
    let mut topics = args.topics;
    topics.extend(conn.url_topic.clone());
    if topics.is_empty() && args.unsubscribe.is_empty() {
        return Err(Failure::usage(
            "no topic: give at least one -t FILTER (or a topic in the -L URL), or -U FILTER",
        ));
    }
    for filter in topics.iter().chain(&args.filter_out).chain(&args.unsubscribe) {
        check_topic_filter(filter)
            .map_err(|why| Failure::usage(format!("invalid topic filter {filter:?}: {why}")))?;
    }
    let options = SubscriptionOptions {
        qos: QoS::from_u8(args.qos).unwrap_or_default(),
        no_local: args.no_local,
        retain_as_published: args.retain_as_published,
        retain_handling: match args.retain_handling {
            Some(1) => RetainHandling::SendIfNew,
            Some(2) => RetainHandling::Never,
            _ => RetainHandling::SendAlways,
        },
    };
    let printer = Printer::new(
        args.verbose,
        args.format.as_deref(),
        args.json,
        args.no_newline,
        args.pretty,
    )
    .map_err(|e| Failure::usage(e.to_string()))?;
    let disconnect = Disconnect {
        reason: ReasonCode::SUCCESS,
        session_expiry: conn.properties.disconnect_session_expiry,
        reason_string: None,
    };
    Ok(Plan {
        filters: topics.into_iter().map(|t| (Arc::from(t), options)).collect(),
        unsubscribe: args.unsubscribe.into_iter().map(Arc::from).collect(),
        random_filter: args.random_filter,
        filter_out: args.filter_out,
        printer,
        count: args.count,
        timeout: args.timeout.map(Duration::from_secs_f64),
        skip_retained: args.no_retained,
        retained_only: args.retained_only,
        remove_retained: args.remove_retained,
        exit_after_subscribe: args.exit_after_subscribe,
        reconnect: !args.no_reconnect,
        quiet: args.conn.quiet,
        disconnect,
        conn,
    })
}

/// Runs `robustmq sub`.
pub fn run(args: SubArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    let result = plan(args).and_then(|plan| common::runtime()?.block_on(subscribe(plan)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit_unless_quiet("sub", quiet),
    }
}

/// Why the receive loop stopped.
enum End {
    /// Finished as asked (-C, -E, --retained-only, a signal, stdout closed).
    Done,
    /// `-W` expired.
    TimedOut,
}

/// The receive loop's state.
struct Session {
    plan: Plan,
    printed: u64,
    /// SUBSCRIBE and UNSUBSCRIBE packets not answered yet (for -E).
    unanswered: usize,
    /// `--random-filter`'s generator state (never 0).
    rng: u64,
    /// `--retained-only`: when to stop if nothing else arrives.
    quiet_until: Option<Instant>,
    /// `--remove-retained`: topics still to clear.
    to_clear: VecDeque<Arc<str>>,
    stdout: std::io::Stdout,
}

/// A seed for `--random-filter`, different on every run.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish() | 1
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let (Ok(mut int), Ok(mut term)) =
            (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
        {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn subscribe(plan: Plan) -> Result<(), Failure> {
    let (client, _connack) = Client::connect(&plan.conn.options).await?;
    let expires = plan.timeout.map(|t| Instant::now() + t);
    // `None` while the connection is lost and a new one is being made.
    let mut client = Some(client);
    let disconnect = plan.disconnect.clone();
    let mut session = Session::new(plan);
    session.start(client.as_mut())?;
    let interrupt = interrupted();
    tokio::pin!(interrupt);
    // A failure of ours (a refused subscription, say) still says goodbye properly, so the broker
    // does not publish the will; a broken connection ends here.
    let end = loop {
        let quiet = session.quiet_until;
        let step = tokio::select! {
            step = session.step(&mut client) => step,
            () = sleep_until(expires.unwrap_or_else(Instant::now)), if expires.is_some() => break Ok(End::TimedOut),
            () = sleep_until(quiet.unwrap_or_else(Instant::now)), if quiet.is_some() => break Ok(End::Done),
            () = &mut interrupt => break Ok(End::Done),
        };
        match step {
            Ok(false) => {}
            Ok(true) => break Ok(End::Done),
            Err(failure) => break Err(failure),
        }
    };
    if let Some(mut client) = client {
        let finished = timeout(GOODBYE, async {
            if end.is_ok() {
                session.finish_clearing(&mut client).await?;
            }
            client.disconnect(disconnect).await.map_err(Failure::from)
        })
        .await;
        if let (Ok(_), Ok(Err(failure))) = (&end, finished) {
            return Err(failure);
        }
    }
    match end? {
        End::Done => Ok(()),
        End::TimedOut => {
            let what = match session.plan.count {
                Some(count) => format!(" with {} of {count} messages", session.printed),
                None => String::new(),
            };
            let secs = session.plan.timeout.unwrap_or_default().as_secs_f64();
            Err(Failure::new(
                Exit::WaitExpired,
                format!("timed out after {secs} s (-W){what}"),
            ))
        }
    }
}

impl Session {
    /// Subscribes, then unsubscribes (-U), on a new connection.
    fn start(&mut self, client: Option<&mut Client>) -> Result<(), Failure> {
        if let Some(client) = client {
            if !self.plan.filters.is_empty() {
                client.subscribe(self.plan.filters.clone())?;
                self.unanswered += 1;
            }
            if !self.plan.unsubscribe.is_empty() {
                client.unsubscribe(self.plan.unsubscribe.clone())?;
                self.unanswered += 1;
            }
        }
        Ok(())
    }

    /// One step of the receive loop: handles the next event, or, when the connection is lost
    /// and reconnecting is on, makes a new one. True when the loop should stop. Cancel-safe.
    async fn step(&mut self, slot: &mut Option<Client>) -> Result<bool, Failure> {
        let Some(client) = slot else {
            let mut backoff = Backoff::default();
            let (client, connack) = reconnect(&self.plan.conn.options, &mut backoff).await?;
            self.notice("reconnected");
            let client = slot.insert(client);
            // A session the broker kept has the subscriptions already.
            if !connack.session_present {
                self.start(Some(client))?;
            }
            return Ok(false);
        };
        self.clear_retained(client)?;
        match client.poll().await {
            Ok(event) => self.on_event(event),
            Err(e) if self.plan.reconnect && is_lost(&e) => {
                self.notice(&format!("connection lost ({}); reconnecting", loss_words(&e)));
                *slot = None;
                Ok(false)
            }
            Err(e) => {
                // Nothing more can be said on a broken connection: no goodbye.
                *slot = None;
                Err(e.into())
            }
        }
    }

    /// One line on stderr (unless `--quiet`).
    fn notice(&self, what: &str) {
        if !self.plan.quiet {
            eprintln!("robustmq sub: {what}");
        }
    }

    /// `--random-filter`: whether to print this message (xorshift; no need for a better
    /// generator to thin out output).
    fn chosen(&mut self) -> bool {
        let Some(percent) = self.plan.random_filter else {
            return true;
        };
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        ((self.rng % 10_000) as f64) < percent * 100.0
    }

    fn new(plan: Plan) -> Session {
        Session {
            plan,
            printed: 0,
            unanswered: 0,
            rng: seed(),
            quiet_until: None,
            to_clear: VecDeque::new(),
            stdout: std::io::stdout(),
        }
    }

    /// Handles one event; true when the loop should stop.
    fn on_event(&mut self, event: Event) -> Result<bool, Failure> {
        match event {
            Event::Message(msg) => self.on_message(&msg),
            Event::Subscribed(suback) => self.on_suback(&suback),
            Event::Acked(ack) if !ack.is_success() => Err(Failure::new(
                Exit::Rejected,
                format!(
                    "the broker refused to clear a retained message (--remove-retained): {}",
                    reason_text(ack.reason, ack.reason_string.as_deref())
                ),
            )),
            Event::Unsubscribed(_) => Ok(self.answered()),
            Event::Acked(_) => Ok(false),
        }
    }

    fn on_suback(&mut self, suback: &Suback) -> Result<bool, Failure> {
        let v5 = self.plan.conn.options.version.is_v5();
        let refused: Vec<String> = self
            .plan
            .filters
            .iter()
            .zip(&suback.reasons)
            .filter(|(_, code)| code.is_error())
            .map(|((filter, _), code)| match v5 {
                true => format!("{filter:?}: {}", reason_text(*code, None)),
                false => format!("{filter:?} (MQTT 3.1.1 gives no reason)"),
            })
            .collect();
        if !refused.is_empty() {
            let detail = suback
                .reason_string
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            return Err(Failure::new(
                Exit::Rejected,
                format!(
                    "the broker refused the subscription to {}{detail}",
                    refused.join("; ")
                ),
            ));
        }
        if self.plan.retained_only {
            self.quiet_until = Some(Instant::now() + RETAINED_QUIET);
        }
        Ok(self.answered())
    }

    /// Counts an answer to our SUBSCRIBE or UNSUBSCRIBE; true when -E should stop now.
    fn answered(&mut self) -> bool {
        self.unanswered = self.unanswered.saturating_sub(1);
        self.plan.exit_after_subscribe && self.unanswered == 0
    }

    fn on_message(&mut self, msg: &Publish) -> Result<bool, Failure> {
        let plan = &mut self.plan;
        if plan.filter_out.iter().any(|f| matches(f, &msg.topic)) {
            return Ok(false);
        }
        if msg.retain && plan.remove_retained && !msg.payload.is_empty() {
            self.to_clear.push_back(msg.topic.clone());
        }
        if plan.retained_only {
            if !msg.retain {
                return Ok(true);
            }
            if self.quiet_until.is_some() {
                self.quiet_until = Some(Instant::now() + RETAINED_QUIET);
            }
        }
        if plan.skip_retained && msg.retain {
            return Ok(false);
        }
        if !self.chosen() {
            // mosquitto_sub counts the messages it leaves out for -C as well.
            self.printed += 1;
            return Ok(self.plan.count.is_some_and(|count| self.printed >= count));
        }
        let plan = &mut self.plan;
        plan.printer.render(msg);
        if plan.printer.payload_was_not_json() && !plan.quiet {
            eprintln!(
                "robustmq sub: the payload on topic {:?} is not valid JSON (-F %J)",
                msg.topic
            );
        }
        let line = plan.printer.last_line();
        let mut out = self.stdout.lock();
        match out.write_all(line).and_then(|()| out.flush()) {
            Ok(()) => {}
            // The reader went away (`| head -1`): that is the end, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(true),
            Err(e) => {
                return Err(Failure::new(
                    Exit::Failed,
                    format!("cannot write to stdout: {}", io_words(&e)),
                ))
            }
        }
        self.printed += 1;
        Ok(plan.count.is_some_and(|count| self.printed >= count))
    }

    /// Queues an empty retained message for each topic to clear, as the window allows.
    fn clear_retained(&mut self, client: &mut Client) -> Result<(), Failure> {
        while client.can_publish() {
            let Some(topic) = self.to_clear.pop_front() else {
                break;
            };
            client.publish(&mut Publish {
                dup: false,
                qos: QoS::AtLeastOnce,
                retain: true,
                topic,
                packet_id: 0,
                payload: Bytes::new(),
                properties: Default::default(),
                topic_alias: None,
                subscription_ids: Vec::new(),
            })?;
        }
        Ok(())
    }

    /// Sends what `--remove-retained` still owes and waits for the acknowledgements.
    async fn finish_clearing(&mut self, client: &mut Client) -> Result<(), Failure> {
        loop {
            self.clear_retained(client)?;
            if self.to_clear.is_empty() && client.unacknowledged() == 0 {
                return Ok(());
            }
            match client.poll().await? {
                Event::Acked(ack) if !ack.is_success() => {
                    self.on_event(Event::Acked(ack))?;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn session(args: &[&str]) -> Session {
        let cli = Cli::try_parse_from(["robustmq", "sub", "-t", "#"].iter().chain(args)).unwrap();
        let Command::Sub(args) = cli.command else {
            unreachable!()
        };
        Session::new(plan(args).unwrap())
    }

    fn message(topic: &str, retain: bool) -> Publish {
        Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain,
            topic: Arc::from(topic),
            packet_id: 0,
            payload: Bytes::from_static(b"x"),
            properties: Default::default(),
            topic_alias: None,
            subscription_ids: Vec::new(),
        }
    }

    #[test]
    fn retained_only_stops_at_the_first_live_message() {
        let mut s = session(&["--retained-only"]);
        assert!(s.on_message(&message("a", false)).unwrap());
        assert_eq!(s.printed, 0);
    }

    #[test]
    fn skipped_retained_messages_are_still_removed_and_not_counted() {
        let mut s = session(&["-R", "--remove-retained", "-C", "1"]);
        assert!(!s.on_message(&message("a/b", true)).unwrap());
        assert_eq!(s.printed, 0);
        assert_eq!(s.to_clear, [Arc::from("a/b")]);
    }

    #[test]
    fn filtered_out_topics_are_ignored_entirely() {
        let mut s = session(&["-T", "noise/#", "--remove-retained", "--retained-only"]);
        assert!(!s.on_message(&message("noise/x", false)).unwrap());
        assert!(!s.on_message(&message("noise/y", true)).unwrap());
        assert!(s.to_clear.is_empty());
    }
}
