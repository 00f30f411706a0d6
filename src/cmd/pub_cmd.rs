//! `robustmq pub`: publish a message, a file, stdin, or each line of stdin (mosquitto_pub style).

use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::{sleep_until, timeout, Instant};

use super::common::{self, Connection, Failure};
use crate::cli::PubArgs;
use crate::client::error::io_words;
use crate::client::reconnect::{is_lost, loss_words, reconnect, Backoff};
use crate::client::topic::check_topic_name;
use crate::client::{reason_text, Client, Event};
use crate::exit::Exit;
use crate::protocol::{Disconnect, Publish, QoS, ReasonCode};

/// Packets that `-D` may give properties for.
const PROPERTY_COMMANDS: &[&str] = &["connect", "publish", "will", "disconnect"];
/// Stop queueing QoS 0 messages while this many bytes wait to be written.
const HIGH_WATER: usize = 1 << 20;
/// How long to wait for a clean goodbye after a failure.
const GOODBYE: Duration = Duration::from_secs(2);

/// Where the payloads come from.
#[derive(Debug)]
enum Source {
    /// One payload (-m, -f, -s, -n), sent `repeat` times.
    Once(Bytes),
    /// Each line of stdin (-l).
    Lines,
}

/// The checked command line.
#[derive(Debug)]
struct Plan {
    conn: Connection,
    message: Publish,
    source: Source,
    repeat: u64,
    repeat_delay: Option<Duration>,
    /// With -l: connect again when the connection is lost (not `--no-reconnect`).
    reconnect: bool,
    disconnect: Disconnect,
}

fn plan(args: PubArgs) -> Result<Plan, Failure> {
    let conn = common::connection(&args.conn, PROPERTY_COMMANDS)?;
    let topic = match (args.topic, conn.url_topic.clone()) {
        (Some(t), None) | (None, Some(t)) => t,
        (Some(_), Some(_)) => {
            return Err(Failure::usage(
                "give the topic with -t or in the -L URL, not both",
            ))
        }
        (None, None) => {
            return Err(Failure::usage(
                "no topic: give one with -t TOPIC (or in the -L URL)",
            ))
        }
    };
    check_topic_name(&topic).map_err(|why| Failure::usage(format!("invalid topic {topic:?}: {why}")))?;
    if args.stdin_line && args.repeat > 1 {
        return Err(Failure::usage(
            "--repeat works with -m, -f, -s or -n, not with -l",
        ));
    }
    let source = if let Some(m) = args.message {
        Source::Once(Bytes::from(m))
    } else if let Some(path) = &args.file {
        let data = std::fs::read(path).map_err(|e| {
            Failure::new(
                Exit::Failed,
                format!("cannot read {}: {}", path.display(), io_words(&e)),
            )
        })?;
        Source::Once(Bytes::from(data))
    } else if args.stdin_file {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| Failure::new(Exit::Failed, format!("cannot read stdin: {}", io_words(&e))))?;
        Source::Once(Bytes::from(data))
    } else if args.stdin_line {
        Source::Lines
    } else {
        Source::Once(Bytes::new())
    };
    let message = Publish {
        dup: false,
        qos: QoS::from_u8(args.qos).unwrap_or_default(),
        retain: args.retain,
        topic: Arc::from(topic),
        packet_id: 0,
        payload: Bytes::new(),
        properties: conn.properties.publish.clone(),
        topic_alias: None,
        subscription_ids: Vec::new(),
    };
    let disconnect = Disconnect {
        reason: ReasonCode::SUCCESS,
        session_expiry: conn.properties.disconnect_session_expiry,
        reason_string: None,
    };
    Ok(Plan {
        conn,
        message,
        source,
        repeat: args.repeat,
        repeat_delay: args.repeat_delay.map(Duration::from_secs_f64),
        reconnect: !args.no_reconnect,
        disconnect,
    })
}

/// Runs `robustmq pub`.
pub fn run(args: PubArgs) -> ExitCode {
    let quiet = args.conn.quiet;
    let result = plan(args).and_then(|plan| common::runtime()?.block_on(publish(plan)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.exit_unless_quiet("pub", quiet),
    }
}

async fn publish(mut plan: Plan) -> Result<(), Failure> {
    let (mut client, _connack) = Client::connect(&plan.conn.options).await?;
    let sent = match std::mem::replace(&mut plan.source, Source::Lines) {
        Source::Once(payload) => {
            plan.message.payload = payload;
            send_repeated(&mut client, &mut plan).await
        }
        Source::Lines => send_lines(&mut client, &mut plan).await,
    };
    match sent {
        Ok(()) => Ok(client.disconnect(plan.disconnect).await?),
        Err(failure) => {
            let _ = timeout(GOODBYE, client.disconnect(plan.disconnect)).await;
            Err(failure)
        }
    }
}

/// Checks what the broker said; a refused message ends the command.
fn check(event: Event, topic: &str) -> Result<(), Failure> {
    match event {
        Event::Acked(ack) if !ack.is_success() => Err(Failure::new(
            Exit::Rejected,
            format!(
                "the broker refused the message to {topic:?}: {}",
                reason_text(ack.reason, ack.reason_string.as_deref())
            ),
        )),
        // Messages for an earlier persistent session are acknowledged and dropped.
        _ => Ok(()),
    }
}

/// Waits until everything is written and every QoS 1/2 publish is acknowledged.
async fn settle(client: &mut Client, topic: &str) -> Result<(), Failure> {
    client.flush().await?;
    while client.unacknowledged() > 0 {
        check(client.poll().await?, topic)?;
    }
    Ok(())
}

/// Waits until there is room for one more publish.
async fn make_room(client: &mut Client, topic: &str) -> Result<(), Failure> {
    while !client.can_publish() {
        check(client.poll().await?, topic)?;
    }
    if client.buffered() > HIGH_WATER {
        client.flush().await?;
    }
    Ok(())
}

async fn send_repeated(client: &mut Client, plan: &mut Plan) -> Result<(), Failure> {
    let topic = plan.message.topic.clone();
    for i in 0..plan.repeat {
        make_room(client, &topic).await?;
        client.publish(&mut plan.message)?;
        if let (Some(delay), true) = (plan.repeat_delay, i + 1 < plan.repeat) {
            settle(client, &topic).await?;
            let until = Instant::now() + delay;
            loop {
                tokio::select! {
                    () = sleep_until(until) => break,
                    event = client.poll() => check(event?, &topic)?,
                }
            }
        }
    }
    settle(client, &topic).await
}

/// Reads stdin on a thread, one line per message, so the connection keeps being served (keep
/// alive, acknowledgements) while stdin is quiet.
fn spawn_line_reader() -> tokio::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                    }
                    if tx.blocking_send(Ok(line)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    rx
}

async fn send_lines(client: &mut Client, plan: &mut Plan) -> Result<(), Failure> {
    let message = &mut plan.message;
    let topic = message.topic.clone();
    let mut lines = spawn_line_reader();
    // QoS 1/2 lines the broker has not acknowledged yet, oldest first: sent again on a new
    // connection, so a restart of the broker loses none of them.
    let mut unacked: VecDeque<(u16, Bytes)> = VecDeque::new();
    loop {
        let room = client.can_publish() && client.buffered() < HIGH_WATER;
        let lost = tokio::select! {
            line = lines.recv(), if room => match line {
                Some(Ok(line)) => {
                    message.payload = Bytes::from(line);
                    let id = client.publish(message)?;
                    if id != 0 {
                        unacked.push_back((id, message.payload.clone()));
                    }
                    continue;
                }
                Some(Err(e)) => {
                    return Err(Failure::new(Exit::Failed, format!("cannot read stdin: {}", io_words(&e))))
                }
                None => break,
            },
            event = client.poll() => match event {
                Ok(event) => {
                    forget_acked(&mut unacked, &event);
                    check(event, &topic)?;
                    continue;
                }
                Err(e) if plan.reconnect && is_lost(&e) => e,
                Err(e) => return Err(e.into()),
            },
        };
        let quiet = plan.conn.quiet;
        if !quiet {
            eprintln!(
                "robustmq pub: connection lost ({}); reconnecting",
                loss_words(&lost)
            );
        }
        (*client, _) = reconnect(&plan.conn.options, &mut Backoff::default()).await?;
        if !quiet {
            eprintln!("robustmq pub: reconnected");
        }
        for (_, payload) in std::mem::take(&mut unacked) {
            while !client.can_publish() {
                let event = client.poll().await?;
                forget_acked(&mut unacked, &event);
                check(event, &topic)?;
            }
            message.payload = payload;
            let id = client.publish(message)?;
            unacked.push_back((id, message.payload.clone()));
        }
    }
    settle(client, &topic).await
}

/// Drops an acknowledged line from those to send again after a reconnect.
fn forget_acked(unacked: &mut VecDeque<(u16, Bytes)>, event: &Event) {
    if let Event::Acked(ack) = event {
        unacked.retain(|(id, _)| *id != ack.packet_id);
    }
}
