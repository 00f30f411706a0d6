//! The network side of `top`: one MQTT client that reads `$SYS`, asks robustmq's admin API for
//! the current view's details, and feeds everything to the app through a channel, so drawing
//! never waits on the network. It reconnects by itself when the broker goes away.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::time::{interval, sleep, MissedTickBehavior};

use super::admin::{self, parse_reply, Request};
use super::app::{is_robustmq, Action, Update, View};
use crate::client::{Client, ClientError, ConnectOptions, Event};
use crate::protocol::{Disconnect, MessageProperties, PropertyFields, Publish, QoS, SubscriptionOptions};

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Rows of `topics/top` the Overview shows.
const OVERVIEW_TOPICS: usize = 10;
/// Rows of `topics/top` the Topics view asks for.
const TOPICS: usize = 200;

/// How the collector connects and how often it asks.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connection to the broker.
    pub connect: ConnectOptions,
    /// Time between admin requests.
    pub interval: Duration,
}

/// Why a connection ended.
enum End {
    /// The app is gone: stop.
    Quit,
    /// Lost: reconnect.
    Lost(ClientError),
}

/// What the app shows, and so what to ask for.
#[derive(Debug, Clone, Default)]
struct Watching {
    view: View,
    /// The client whose detail the Clients view shows instead of the list.
    detail: Option<String>,
}

/// Runs until the app drops its end of `actions`.
pub async fn run(options: Options, updates: UnboundedSender<Update>, mut actions: UnboundedReceiver<Action>) {
    let mut view = Watching::default();
    let mut attempt = 1;
    let mut backoff = Duration::from_millis(500);
    loop {
        if updates.send(Update::Connecting { attempt }).is_err() {
            return;
        }
        let error = match Client::connect(&options.connect).await {
            Ok((client, _connack)) => {
                attempt = 1;
                backoff = Duration::from_millis(500);
                match serve(client, &options, &updates, &mut actions, &mut view).await {
                    End::Quit => return,
                    End::Lost(e) => e,
                }
            }
            Err(e) => e,
        };
        attempt += 1;
        if updates
            .send(Update::Down {
                error: error.to_string(),
                retry_in: backoff,
            })
            .is_err()
        {
            return;
        }
        // Wait out the backoff, still following view changes (and noticing a quit).
        let wake = sleep(backoff);
        tokio::pin!(wake);
        loop {
            tokio::select! {
                () = &mut wake => break,
                action = actions.recv() => match action {
                    None => return,
                    Some(Action::Watch(v)) => view.view = v,
                    Some(Action::Detail(id)) => view.detail = id,
                    Some(action) => {
                        if let Some(request) = one_off(action) {
                            let _ = updates.send(Update::Reply(admin::Reply::Error {
                                command: request.command().into(),
                                message: "not connected to the broker".into(),
                            }));
                        }
                    }
                },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: subscribe, then read, ask and relay until it ends.
async fn serve(
    mut client: Client,
    options: &Options,
    updates: &UnboundedSender<Update>,
    actions: &mut UnboundedReceiver<Action>,
    view: &mut Watching,
) -> End {
    let v5 = client.version().is_v5();
    // MQTT 5 replies come to a topic of our own, tagged with the command as correlation data;
    // 3.1.1 replies come to the broker's default `<request>/response` topics.
    let reply_topic: Option<Arc<str>> =
        v5.then(|| Arc::from(format!("robustmq-top/{}/reply", client.client_id())));
    let mut filters = vec![Arc::from("$SYS/#")];
    filters.push(match &reply_topic {
        Some(t) => t.clone(),
        None => Arc::from(format!("{}+/+{}", admin::PREFIX, admin::RESPONSE_SUFFIX)),
    });
    let subscription = filters
        .into_iter()
        .map(|f| (f, SubscriptionOptions::default()))
        .collect();
    if let Err(e) = client.subscribe(subscription) {
        return End::Lost(e);
    }
    if updates.send(Update::Connected).is_err() {
        return quit(client).await;
    }
    let mut robustmq = false;
    let mut ticker = interval(options.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let outcome = tokio::select! {
            event = client.poll() => match event {
                Err(e) => return End::Lost(e),
                Ok(Event::Message(p)) => {
                    let was = robustmq;
                    if !relay(p, &mut robustmq, updates) {
                        return quit(client).await;
                    }
                    if robustmq && !was {
                        ask_for(&mut client, view, reply_topic.as_ref())
                    } else {
                        Ok(())
                    }
                }
                Ok(_) => Ok(()),
            },
            _ = ticker.tick() => {
                if robustmq {
                    ask_for(&mut client, view, reply_topic.as_ref())
                } else {
                    Ok(())
                }
            }
            action = actions.recv() => match action {
                None => return quit(client).await,
                Some(Action::Watch(v)) => {
                    view.view = v;
                    if robustmq {
                        ask_for(&mut client, view, reply_topic.as_ref())
                    } else {
                        Ok(())
                    }
                }
                Some(Action::Detail(id)) => {
                    view.detail = id;
                    if robustmq {
                        ask_for(&mut client, view, reply_topic.as_ref())
                    } else {
                        Ok(())
                    }
                }
                Some(action) => match one_off(action) {
                    Some(request) if robustmq => ask(&mut client, &request, reply_topic.as_ref()),
                    _ => Ok(()),
                },
            },
        };
        if let Err(e) = outcome {
            return End::Lost(e);
        }
    }
}

async fn quit(client: Client) -> End {
    let _ = tokio::time::timeout(Duration::from_secs(1), client.disconnect(Disconnect::default())).await;
    End::Quit
}

/// Passes a message on to the app; false once the app is gone.
fn relay(p: Publish, robustmq: &mut bool, updates: &UnboundedSender<Update>) -> bool {
    let update = if p.topic.starts_with("$SYS/") {
        if &*p.topic == "$SYS/broker/version" {
            *robustmq = is_robustmq(String::from_utf8_lossy(&p.payload).trim());
        }
        Update::Sys {
            topic: p.topic.to_string(),
            payload: p.payload.to_vec(),
            retained: p.retain,
        }
    } else {
        let command = match &p.properties.correlation_data {
            Some(c) => String::from_utf8_lossy(c).into_owned(),
            None => match admin::command_of_reply_topic(&p.topic) {
                Some(c) => c.to_string(),
                None => return true,
            },
        };
        Update::Reply(parse_reply(&command, &p.payload))
    };
    updates.send(update).is_ok()
}

/// The request an action the user confirmed sends once; `None` for the others.
fn one_off(action: Action) -> Option<Request> {
    match action {
        Action::Disconnect(id) => Some(Request::Disconnect(id)),
        Action::DeleteRetained(topic) => Some(Request::DeleteRetained(topic)),
        Action::DeleteSession(id) => Some(Request::DeleteSession(id)),
        Action::Watch(_) | Action::Detail(_) => None,
    }
}

/// Requests what the header and the watched view show.
fn ask_for(
    client: &mut Client,
    watching: &Watching,
    reply_topic: Option<&Arc<str>>,
) -> Result<(), ClientError> {
    ask(client, &Request::BrokerStats, reply_topic)?;
    let view = watching.view;
    let detail = match view {
        View::Overview => Request::Topics(OVERVIEW_TOPICS),
        View::Clients => match &watching.detail {
            Some(id) => Request::ClientGet(id.clone()),
            None => Request::Clients,
        },
        View::Topics => Request::Topics(TOPICS),
        View::Sessions => Request::Sessions,
        View::Store => Request::Store,
        View::Bridges => Request::Bridges,
        View::Subscriptions => Request::Subscriptions,
        View::Retained => Request::Retained,
    };
    ask(client, &detail, reply_topic)?;
    if view != View::Store {
        // The store's commit rate is charted on every view.
        ask(client, &Request::Store, reply_topic)?;
    }
    Ok(())
}

/// Publishes one admin request at QoS 0 (a lost request is simply asked again next tick).
fn ask(client: &mut Client, request: &Request, reply_topic: Option<&Arc<str>>) -> Result<(), ClientError> {
    let mut message = Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: Arc::from(request.topic()),
        packet_id: 0,
        payload: Bytes::from(request.payload()),
        properties: MessageProperties::from(PropertyFields {
            response_topic: reply_topic.cloned(),
            correlation_data: reply_topic.map(|_| Bytes::from_static(request.command().as_bytes())),
            ..Default::default()
        }),
        topic_alias: None,
        subscription_ids: Vec::new(),
    };
    client.publish(&mut message).map(|_| ())
}
