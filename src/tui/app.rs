//! `top`'s state and what changes it: updates from the collector, key presses, the clock.
//! Nothing here draws or touches the network, so all of it is tested directly.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::admin::{
    BridgeList, ClientRow, Reply, RetainedRow, SessionRow, StoreStats, SubscriberRow, TopicList, TopicRow,
};
use super::detail::Detail;
use super::figures::{name, Figures};
use super::list::ListState;

/// Seconds of history the charts keep (one sample a second).
pub const HISTORY: usize = 600;
/// How long a status message stays in the footer.
const STATUS_FOR: Duration = Duration::from_secs(6);
/// Figure name for robustmq's count of queued messages (not a `$SYS` topic).
pub const QUEUED: &str = "queued messages";

/// The views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Header figures and charts.
    #[default]
    Overview,
    /// Connected clients.
    Clients,
    /// Busiest topics.
    Topics,
    /// Offline persistent sessions.
    Sessions,
    /// The store.
    Store,
    /// Bridges to other brokers.
    Bridges,
    /// Every subscription: filter and client.
    Subscriptions,
    /// Retained messages.
    Retained,
}

impl View {
    /// Every view, in tab order.
    pub const ALL: [View; 8] = [
        View::Overview,
        View::Clients,
        View::Topics,
        View::Sessions,
        View::Store,
        View::Bridges,
        View::Subscriptions,
        View::Retained,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            View::Overview => "Overview",
            View::Clients => "Clients",
            View::Topics => "Topics",
            View::Sessions => "Sessions",
            View::Store => "Store",
            View::Bridges => "Bridges",
            View::Subscriptions => "Subs",
            View::Retained => "Retained",
        }
    }

    /// Position in [`View::ALL`].
    pub fn index(self) -> usize {
        View::ALL.iter().position(|v| *v == self).unwrap_or(0)
    }

    fn step(self, delta: isize) -> View {
        let n = View::ALL.len() as isize;
        View::ALL[((self.index() as isize + delta).rem_euclid(n)) as usize]
    }
}

/// The state of the connection to the broker, as the collector reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// Connecting (the first time, or again after a loss).
    Connecting {
        /// 1 for the first try.
        attempt: u32,
    },
    /// Connected and subscribed.
    Connected {
        /// Since when.
        since: Instant,
    },
    /// Lost or refused; the collector tries again at `retry_at`.
    Down {
        /// Why, in one line.
        error: String,
        /// When the next attempt starts.
        retry_at: Instant,
    },
}

/// Whether the detail views (clients, topics, sessions, store) can be filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The broker has not said what it is yet (`$SYS/broker/version`).
    Unknown,
    /// robustmq answers admin requests.
    Granted,
    /// The broker is not robustmq: `$SYS` only. Holds its version text.
    NotOffered(String),
    /// robustmq refused the requests (e.g. not from loopback, or not allowed by the ACL).
    Refused(String),
}

/// What the collector sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// A connection attempt starts.
    Connecting {
        /// 1 for the first.
        attempt: u32,
    },
    /// Connected and subscribed.
    Connected,
    /// The connection failed or was lost.
    Down {
        /// Why.
        error: String,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
    /// A `$SYS` message.
    Sys {
        /// Topic.
        topic: String,
        /// Payload.
        payload: Vec<u8>,
        /// Whether it came as a retained message (possibly old).
        retained: bool,
    },
    /// An admin reply.
    Reply(Reply),
}

/// What the app asks the collector to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Fetch what this view shows (now, and from then on).
    Watch(View),
    /// Ask the broker to disconnect a client.
    Disconnect(String),
    /// Fetch this client's detail instead of the client list (`None`: the list again).
    Detail(Option<String>),
    /// Ask the broker to delete the retained message of a topic.
    DeleteRetained(String),
    /// Ask the broker to delete a client's offline session.
    DeleteSession(String),
}

/// What waits for a y/n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    /// Disconnecting this client.
    Disconnect(String),
    /// Deleting the retained message of this topic.
    DeleteRetained(String),
    /// Deleting the offline session of this client.
    DeleteSession(String),
}

impl Confirm {
    /// The question in the footer.
    pub fn question(&self) -> String {
        match self {
            Confirm::Disconnect(id) => format!("disconnect {id}?"),
            Confirm::DeleteRetained(topic) => format!("delete the retained message of {topic}?"),
            Confirm::DeleteSession(id) => format!("delete the offline session of {id}?"),
        }
    }

    fn action(self) -> (String, Action) {
        match self {
            Confirm::Disconnect(id) => (
                format!("asking the broker to disconnect {id}…"),
                Action::Disconnect(id),
            ),
            Confirm::DeleteRetained(topic) => (
                format!("asking the broker to delete the retained message of {topic}…"),
                Action::DeleteRetained(topic),
            ),
            Confirm::DeleteSession(id) => (
                format!("asking the broker to delete the session of {id}…"),
                Action::DeleteSession(id),
            ),
        }
    }

    fn declined(&self) -> &'static str {
        match self {
            Confirm::Disconnect(_) => "not disconnected",
            Confirm::DeleteRetained(_) | Confirm::DeleteSession(_) => "not deleted",
        }
    }
}

/// What keys do right now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// Navigation.
    #[default]
    Normal,
    /// Typing a filter (applied as typed).
    Filter(String),
    /// Waiting for y/n.
    Confirm(Confirm),
}

/// A chart's samples, one a second, newest last; `None` where the figure was not known.
#[derive(Debug, Clone, Default)]
pub struct Series(VecDeque<Option<f64>>);

impl Series {
    /// Appends a sample, forgetting the oldest past [`HISTORY`].
    pub fn push(&mut self, value: Option<f64>) {
        if self.0.len() == HISTORY {
            self.0.pop_front();
        }
        self.0.push_back(value);
    }

    /// The newest sample, if there is one and it was known.
    pub fn latest(&self) -> Option<f64> {
        self.0.back().copied().flatten()
    }

    /// The newest `n` samples, oldest first.
    pub fn last(&self, n: usize) -> Vec<Option<f64>> {
        let skip = self.0.len().saturating_sub(n);
        self.0.iter().skip(skip).copied().collect()
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The charts' data. The header's rates are the newest samples, so that the header and the
/// charts always show one figure, taken once a second.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// PUBLISH in per second.
    pub messages_in: Series,
    /// PUBLISH out per second.
    pub messages_out: Series,
    /// Bytes in per second.
    pub bytes_in: Series,
    /// Bytes out per second.
    pub bytes_out: Series,
    /// Clients connected.
    pub connections: Series,
    /// Store commits per second.
    pub commits: Series,
}

/// The whole state of `top`.
#[derive(Debug)]
pub struct App {
    /// The broker, `host:port`.
    pub target: String,
    /// Connection state.
    pub link: Link,
    /// View shown.
    pub view: View,
    /// Broker-wide figures.
    pub figures: Figures,
    /// Chart samples.
    pub history: History,
    /// Whether detail views can be filled.
    pub access: Access,
    /// Clients view.
    pub clients: ListState<ClientRow>,
    /// Sessions view.
    pub sessions: ListState<SessionRow>,
    /// Topics view.
    pub topics: ListState<TopicRow>,
    /// Subscriptions view.
    pub subscriptions: ListState<SubscriberRow>,
    /// Retained messages view.
    pub retained: ListState<RetainedRow>,
    /// The last `topics/top` reply's window figures (its rows are in `topics`).
    pub topic_window: Option<TopicList>,
    /// The last `store/stats` reply.
    pub store: Option<StoreStats>,
    /// The last `bridges/list` reply.
    pub bridges: Option<BridgeList>,
    /// The client detail open in the Clients view, if any.
    pub detail: Option<Detail>,
    /// Key mode.
    pub mode: Mode,
    /// Whether the help overlay is shown.
    pub help: bool,
    /// While paused, data updates are dropped so the screen holds still.
    pub paused: bool,
    /// A message for the footer and when it was set.
    pub status: Option<(String, Instant)>,
    /// Set when the user asked to quit.
    pub quit: bool,
    /// Now, as of the last tick or update (drawing reads it, so a test can fix it).
    pub now: Instant,
    /// Wall clock, Unix milliseconds, as of the last tick (for "connected for" columns).
    pub wall_ms: u64,
}

/// Runs `$body` with `$list` bound to the current view's list, if it has one (the lists hold
/// different row types, so a closure could not take them all).
macro_rules! each_list {
    ($app:expr, $list:ident => $body:expr) => {
        match $app.view {
            View::Clients => {
                let $list = &mut $app.clients;
                $body
            }
            View::Topics => {
                let $list = &mut $app.topics;
                $body
            }
            View::Sessions => {
                let $list = &mut $app.sessions;
                $body
            }
            View::Subscriptions => {
                let $list = &mut $app.subscriptions;
                $body
            }
            View::Retained => {
                let $list = &mut $app.retained;
                $body
            }
            View::Overview | View::Store | View::Bridges => {}
        }
    };
}

/// Whether a `$SYS/broker/version` text is robustmq's.
pub fn is_robustmq(version: &str) -> bool {
    version.starts_with("robustmq")
}

impl App {
    /// A fresh state for watching `target`.
    pub fn new(target: impl Into<String>, now: Instant, wall_ms: u64) -> App {
        App {
            target: target.into(),
            link: Link::Connecting { attempt: 1 },
            view: View::Overview,
            figures: Figures::default(),
            history: History::default(),
            access: Access::Unknown,
            clients: ListState::default(),
            sessions: ListState::default(),
            topics: ListState::default(),
            subscriptions: ListState::default(),
            retained: ListState::default(),
            topic_window: None,
            store: None,
            bridges: None,
            detail: None,
            mode: Mode::Normal,
            help: false,
            paused: false,
            status: None,
            quit: false,
            now,
            wall_ms,
        }
    }

    /// Applies an update from the collector. While paused, figures and lists hold still but
    /// the connection state and the answers to the user's own requests still show.
    pub fn apply(&mut self, update: Update, now: Instant) {
        self.now = now;
        match update {
            Update::Connecting { attempt } => self.link = Link::Connecting { attempt },
            Update::Connected => {
                self.link = Link::Connected { since: now };
                // Samples from before the outage must not span it.
                self.figures.restart_rates();
            }
            Update::Down { error, retry_in } => {
                self.link = Link::Down {
                    error,
                    retry_at: now + retry_in,
                }
            }
            Update::Sys {
                topic,
                payload,
                retained,
            } => {
                if topic == "$SYS/broker/version" {
                    self.learn_version(&String::from_utf8_lossy(&payload));
                }
                if !self.paused {
                    self.figures.observe_sys(&topic, &payload, now, !retained);
                }
            }
            Update::Reply(reply) => self.apply_reply(reply, now),
        }
    }

    fn learn_version(&mut self, version: &str) {
        let version = version.trim();
        if !is_robustmq(version) {
            self.access = Access::NotOffered(version.to_string());
        } else if matches!(self.access, Access::Unknown | Access::NotOffered(_)) {
            // Granted once a reply comes; until then the views say they are waiting.
            self.access = Access::Unknown;
        }
    }

    fn apply_reply(&mut self, reply: Reply, now: Instant) {
        match reply {
            Reply::Disconnected(d) => {
                let text = if d.existed {
                    format!("{} was disconnected", d.client_id)
                } else {
                    format!("{} is not connected", d.client_id)
                };
                self.set_status(text, now);
                return;
            }
            Reply::RetainedDeleted(d) => {
                let text = if d.existed {
                    self.retained.remove(|r| r.topic == d.topic);
                    format!("the retained message of {} was deleted", d.topic)
                } else {
                    format!("{} has no retained message", d.topic)
                };
                self.set_status(text, now);
                return;
            }
            Reply::SessionDeleted(d) => {
                let text = if d.existed {
                    self.sessions.remove(|r| r.client_id == d.client_id);
                    format!("the session of {} was deleted", d.client_id)
                } else {
                    format!("{} has no offline session", d.client_id)
                };
                self.set_status(text, now);
                return;
            }
            Reply::Error { command, message } => {
                if message.contains("not authorized") {
                    self.access = Access::Refused(message);
                } else if command == "clients/get" && self.detail.is_some() {
                    if let Some(d) = &mut self.detail {
                        d.gone = Some(message);
                    }
                } else {
                    self.set_status(format!("{command}: {message}"), now);
                }
                return;
            }
            _ => {}
        }
        self.access = Access::Granted;
        if self.paused {
            return;
        }
        match reply {
            Reply::Broker(stats) => {
                self.figures.observe_broker_stats(&stats, now);
                self.figures
                    .observe(QUEUED, &stats.queued_messages.to_string(), now, true);
            }
            Reply::Clients(list) => self.clients.set_rows(list.clients, list.total, now),
            Reply::Sessions(list) => self.sessions.set_rows(list.sessions, list.total, now),
            Reply::Topics(mut list) => {
                let rows = std::mem::take(&mut list.topics);
                let total = list.distinct_topics;
                self.topics.set_rows(rows, total, now);
                self.topic_window = Some(list);
            }
            Reply::Store(stats) => {
                self.figures.observe_store_stats(&stats, now);
                self.store = Some(stats);
            }
            Reply::Bridges(list) => self.bridges = Some(list),
            Reply::Retained(list) => self.retained.set_rows(list.messages, list.total, now),
            Reply::Subscriptions(list) => self.subscriptions.set_rows(list.subscriptions, list.total, now),
            Reply::ClientDetail(detail) => {
                if let Some(d) = &mut self.detail {
                    d.update(detail, now);
                }
            }
            Reply::Disconnected(_)
            | Reply::RetainedDeleted(_)
            | Reply::SessionDeleted(_)
            | Reply::Error { .. } => {}
        }
    }

    /// Once a second: samples the rates for the charts and expires the status message.
    pub fn tick(&mut self, now: Instant, wall_ms: u64) {
        self.now = now;
        self.wall_ms = wall_ms;
        if self
            .status
            .as_ref()
            .is_some_and(|(_, at)| now.duration_since(*at) > STATUS_FOR)
        {
            self.status = None;
        }
        if self.paused {
            return;
        }
        let f = &self.figures;
        let h = &mut self.history;
        h.messages_in.push(f.messages_in_rate(now));
        h.messages_out.push(f.messages_out_rate(now));
        h.bytes_in.push(f.rate(name::BYTES_RECEIVED, now));
        h.bytes_out.push(f.rate(name::BYTES_SENT, now));
        h.connections
            .push(f.value(name::CLIENTS_CONNECTED).map(|v| v as f64));
        h.commits.push(f.rate(name::STORE_COMMITS, now));
    }

    /// Shows a message in the footer for a few seconds.
    pub fn set_status(&mut self, text: impl Into<String>, now: Instant) {
        self.status = Some((text.into(), now));
    }

    /// Handles a key; returns what the collector must do, if anything.
    pub fn handle_key(&mut self, key: KeyEvent) -> Option<Action> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return None;
        }
        match std::mem::take(&mut self.mode) {
            Mode::Filter(text) => {
                self.filter_key(key, text);
                None
            }
            Mode::Confirm(what) => self.confirm_key(key, what),
            Mode::Normal => self.normal_key(key),
        }
    }

    fn filter_key(&mut self, key: KeyEvent, mut text: String) {
        match key.code {
            KeyCode::Enter => return,
            KeyCode::Esc => text.clear(),
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) => text.push(c),
            _ => {}
        }
        self.set_filter(&text);
        if key.code != KeyCode::Esc {
            self.mode = Mode::Filter(text);
        }
    }

    fn confirm_key(&mut self, key: KeyEvent, what: Confirm) -> Option<Action> {
        match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                let (status, action) = what.action();
                self.set_status(status, self.now);
                Some(action)
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                self.set_status(what.declined(), self.now);
                None
            }
            _ => {
                self.mode = Mode::Confirm(what);
                None
            }
        }
    }

    fn normal_key(&mut self, key: KeyEvent) -> Option<Action> {
        if self.help {
            if matches!(key.code, KeyCode::Char('q')) {
                self.quit = true;
            }
            // Any key closes the help.
            self.help = false;
            return None;
        }
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Tab | KeyCode::Right => return self.switch(self.view.step(1)),
            KeyCode::BackTab | KeyCode::Left => return self.switch(self.view.step(-1)),
            KeyCode::Char(c @ '1'..='8') => {
                return self.switch(View::ALL[c as usize - '1' as usize]);
            }
            KeyCode::Enter => return self.open_detail(),
            KeyCode::Esc | KeyCode::Backspace if self.detail.is_some() && self.view == View::Clients => {
                self.detail = None;
                return Some(Action::Detail(None));
            }
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::Up => self.move_selection(-1),
            KeyCode::PageDown => self.move_selection(10),
            KeyCode::PageUp => self.move_selection(-10),
            KeyCode::Home | KeyCode::Char('g') => self.move_selection(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.move_selection(isize::MAX / 2),
            KeyCode::Char('s') => each_list!(self, l => l.cycle_sort()),
            KeyCode::Char('S') | KeyCode::Char('r') => each_list!(self, l => l.reverse_sort()),
            KeyCode::Char('/') => {
                if self.has_list() {
                    self.mode = Mode::Filter(self.current_filter());
                } else {
                    self.set_status("this view has nothing to filter", self.now);
                }
            }
            KeyCode::Esc => self.set_filter(""),
            KeyCode::Char('p') | KeyCode::Char(' ') => {
                self.paused = !self.paused;
                let text = if self.paused { "paused" } else { "resumed" };
                self.set_status(text, self.now);
            }
            KeyCode::Char('d') | KeyCode::Delete if self.view == View::Retained => self.ask_delete_retained(),
            KeyCode::Char('d') | KeyCode::Delete if self.view == View::Sessions => self.ask_delete_session(),
            KeyCode::Char('k') | KeyCode::Char('K') | KeyCode::Char('x') | KeyCode::Delete => {
                self.ask_disconnect()
            }
            _ => {}
        }
        None
    }

    fn switch(&mut self, view: View) -> Option<Action> {
        if view == self.view {
            return None;
        }
        self.view = view;
        Some(Action::Watch(view))
    }

    fn has_list(&self) -> bool {
        match self.view {
            View::Clients => self.detail.is_none(),
            View::Topics | View::Sessions | View::Subscriptions | View::Retained => true,
            View::Overview | View::Store | View::Bridges => false,
        }
    }

    /// Enter: the selected client's detail, in the Clients view.
    fn open_detail(&mut self) -> Option<Action> {
        if self.view != View::Clients || self.detail.is_some() {
            return None;
        }
        if let Some(why) = self.why_no_admin("show a client's detail") {
            self.set_status(why, self.now);
            return None;
        }
        let id = self.clients.selected_row()?.client_id.clone();
        self.detail = Some(Detail::new(id.clone()));
        Some(Action::Detail(Some(id)))
    }

    /// Why admin requests cannot be made now, for the footer; `None` when they can.
    fn why_no_admin(&self, what: &str) -> Option<String> {
        match &self.access {
            Access::Granted => None,
            Access::Refused(m) => Some(format!("the broker refuses admin requests: {m}")),
            Access::NotOffered(v) => Some(format!("{v} cannot {what}: that needs robustmq's admin API")),
            Access::Unknown => Some("the broker has not answered an admin request yet".into()),
        }
    }

    fn move_selection(&mut self, delta: isize) {
        each_list!(self, l => l.move_selection(delta));
    }

    fn set_filter(&mut self, text: &str) {
        each_list!(self, l => l.set_filter(text));
    }

    fn current_filter(&self) -> String {
        match self.view {
            View::Clients => self.clients.filter.clone(),
            View::Topics => self.topics.filter.clone(),
            View::Sessions => self.sessions.filter.clone(),
            View::Subscriptions => self.subscriptions.filter.clone(),
            View::Retained => self.retained.filter.clone(),
            View::Overview | View::Store | View::Bridges => String::new(),
        }
    }

    fn ask_disconnect(&mut self) {
        if self.view != View::Clients {
            self.set_status(
                "select a client in the Clients view (2) to disconnect it",
                self.now,
            );
            return;
        }
        if let Some(why) = self.why_no_admin("disconnect clients on request") {
            self.set_status(why, self.now);
            return;
        }
        let id = match &self.detail {
            Some(d) => Some(d.client_id.clone()),
            None => self.clients.selected_row().map(|row| row.client_id.clone()),
        };
        match id {
            Some(id) => self.mode = Mode::Confirm(Confirm::Disconnect(id)),
            None => self.set_status("no client selected", self.now),
        }
    }

    fn ask_delete_retained(&mut self) {
        if let Some(why) = self.why_no_admin("delete retained messages") {
            self.set_status(why, self.now);
            return;
        }
        match self.retained.selected_row() {
            Some(row) => self.mode = Mode::Confirm(Confirm::DeleteRetained(row.topic.clone())),
            None => self.set_status("no retained message selected", self.now),
        }
    }

    fn ask_delete_session(&mut self) {
        if let Some(why) = self.why_no_admin("delete sessions") {
            self.set_status(why, self.now);
            return;
        }
        match self.sessions.selected_row() {
            Some(row) => self.mode = Mode::Confirm(Confirm::DeleteSession(row.client_id.clone())),
            None => self.set_status("no session selected", self.now),
        }
    }

    /// The header figures the broker has not published (shown once it had time to).
    pub fn missing_figures(&self) -> Vec<&'static str> {
        [
            name::VERSION,
            name::UPTIME,
            name::CLIENTS_CONNECTED,
            name::CLIENTS_TOTAL,
            name::CLIENTS_MAXIMUM,
            name::PUBLISH_RECEIVED,
            name::PUBLISH_SENT,
            name::PUBLISH_DROPPED,
            name::BYTES_RECEIVED,
            name::BYTES_SENT,
            name::SUBSCRIPTIONS,
            name::RETAINED,
            name::STORED,
        ]
        .into_iter()
        .filter(|n| self.figures.get(n).is_none())
        .collect()
    }

    /// The broker's version text, if published.
    pub fn version(&self) -> Option<&str> {
        self.figures.text(name::VERSION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::admin::{BrokerStats, ClientList, Disconnected};

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn app() -> (App, Instant) {
        let t0 = Instant::now();
        (App::new("localhost:1883", t0, 1_000_000), t0)
    }

    fn sys(topic: &str, value: &str, retained: bool) -> Update {
        Update::Sys {
            topic: format!("$SYS/broker/{topic}"),
            payload: value.as_bytes().to_vec(),
            retained,
        }
    }

    fn clients(ids: &[&str]) -> Update {
        Update::Reply(Reply::Clients(ClientList {
            total: ids.len(),
            offset: 0,
            clients: ids
                .iter()
                .map(|id| ClientRow {
                    client_id: id.to_string(),
                    ..Default::default()
                })
                .collect(),
        }))
    }

    #[test]
    fn views_switch_with_tab_and_numbers_and_tell_the_collector() {
        let (mut a, _) = app();
        assert_eq!(
            a.handle_key(key(KeyCode::Tab)),
            Some(Action::Watch(View::Clients))
        );
        assert_eq!(
            a.handle_key(key(KeyCode::Char('5'))),
            Some(Action::Watch(View::Store))
        );
        assert_eq!(
            a.handle_key(key(KeyCode::Char('6'))),
            Some(Action::Watch(View::Bridges))
        );
        assert_eq!(
            a.handle_key(key(KeyCode::Char('8'))),
            Some(Action::Watch(View::Retained))
        );
        assert_eq!(
            a.handle_key(key(KeyCode::Tab)),
            Some(Action::Watch(View::Overview)),
            "wraps"
        );
        assert_eq!(
            a.handle_key(key(KeyCode::BackTab)),
            Some(Action::Watch(View::Retained))
        );
        assert_eq!(
            a.handle_key(key(KeyCode::BackTab)),
            Some(Action::Watch(View::Subscriptions))
        );
        assert_eq!(a.handle_key(key(KeyCode::Char('7'))), None, "already there");
        assert_eq!(a.view, View::Subscriptions);
    }

    #[test]
    fn q_quits_and_help_takes_the_next_key() {
        let (mut a, _) = app();
        a.handle_key(key(KeyCode::Char('?')));
        assert!(a.help);
        a.handle_key(key(KeyCode::Char('j')));
        assert!(!a.help && !a.quit);
        a.handle_key(key(KeyCode::Char('q')));
        assert!(a.quit);
        let (mut b, _) = app();
        b.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(b.quit);
    }

    #[test]
    fn rates_from_counters_feed_the_charts() {
        let (mut a, t0) = app();
        a.apply(sys("publish/messages/received", "100", false), t0);
        a.apply(
            sys("publish/messages/received", "200", false),
            t0 + Duration::from_secs(1),
        );
        a.apply(
            sys("publish/messages/received", "400", false),
            t0 + Duration::from_secs(2),
        );
        a.apply(sys("clients/connected", "3", false), t0 + Duration::from_secs(2));
        a.tick(t0 + Duration::from_secs(2), 0);
        assert_eq!(a.history.messages_in.last(1), [Some(200.0)]);
        assert_eq!(a.history.connections.last(1), [Some(3.0)]);
        assert_eq!(
            a.history.bytes_in.last(1),
            [None],
            "unknown rates are not charted"
        );
    }

    #[test]
    fn retained_sys_values_show_without_a_rate() {
        let (mut a, t0) = app();
        a.apply(sys("bytes/received", "5000", true), t0);
        assert_eq!(a.figures.value(name::BYTES_RECEIVED), Some(5000));
        a.apply(sys("bytes/received", "6000", false), t0 + Duration::from_secs(1));
        assert_eq!(
            a.figures.rate(name::BYTES_RECEIVED, t0 + Duration::from_secs(1)),
            None
        );
    }

    #[test]
    fn version_decides_what_the_detail_views_can_show() {
        let (mut a, t0) = app();
        assert_eq!(a.access, Access::Unknown);
        a.apply(sys("version", "mosquitto version 2.0.11", true), t0);
        assert_eq!(a.access, Access::NotOffered("mosquitto version 2.0.11".into()));
        let (mut b, t0) = app();
        b.apply(sys("version", "robustmq version 0.1.0", true), t0);
        assert_eq!(b.access, Access::Unknown, "waiting for the first reply");
        b.apply(Update::Reply(Reply::Broker(BrokerStats::default())), t0);
        assert_eq!(b.access, Access::Granted);
        b.apply(
            Update::Reply(Reply::Error {
                command: "clients/list".into(),
                message: "not authorized".into(),
            }),
            t0,
        );
        assert_eq!(b.access, Access::Refused("not authorized".into()));
    }

    #[test]
    fn reconnect_state_is_tracked_and_rates_restart() {
        let (mut a, t0) = app();
        assert_eq!(a.link, Link::Connecting { attempt: 1 });
        a.apply(Update::Connected, t0);
        a.apply(sys("bytes/sent", "0", false), t0);
        a.apply(sys("bytes/sent", "100", false), t0 + Duration::from_secs(1));
        assert_eq!(
            a.figures.rate(name::BYTES_SENT, t0 + Duration::from_secs(1)),
            Some(100.0)
        );
        a.apply(
            Update::Down {
                error: "connection refused".into(),
                retry_in: Duration::from_secs(2),
            },
            t0 + Duration::from_secs(2),
        );
        assert_eq!(
            a.link,
            Link::Down {
                error: "connection refused".into(),
                retry_at: t0 + Duration::from_secs(4)
            }
        );
        a.apply(Update::Connecting { attempt: 2 }, t0 + Duration::from_secs(4));
        assert_eq!(a.link, Link::Connecting { attempt: 2 });
        a.apply(Update::Connected, t0 + Duration::from_secs(5));
        assert_eq!(
            a.figures.value(name::BYTES_SENT),
            Some(100),
            "last values stay shown"
        );
        assert_eq!(
            a.figures.rate(name::BYTES_SENT, t0 + Duration::from_secs(5)),
            None
        );
    }

    #[test]
    fn filter_mode_filters_as_typed_and_esc_clears() {
        let (mut a, t0) = app();
        a.apply(clients(&["sensor-1", "sensor-2", "dash"]), t0);
        a.handle_key(key(KeyCode::Char('2')));
        a.handle_key(key(KeyCode::Char('/')));
        for c in "sens".chars() {
            a.handle_key(key(KeyCode::Char(c)));
        }
        assert_eq!(a.mode, Mode::Filter("sens".into()));
        assert_eq!(a.clients.visible().len(), 2);
        a.handle_key(key(KeyCode::Char('q')));
        assert!(!a.quit, "q is text while filtering");
        assert_eq!(a.clients.visible().len(), 0);
        a.handle_key(key(KeyCode::Backspace));
        a.handle_key(key(KeyCode::Enter));
        assert_eq!(a.mode, Mode::Normal);
        assert_eq!(a.clients.visible().len(), 2, "filter kept after Enter");
        a.handle_key(key(KeyCode::Char('/')));
        a.handle_key(key(KeyCode::Esc));
        assert_eq!(a.clients.visible().len(), 3, "Esc clears");
    }

    #[test]
    fn disconnect_needs_the_clients_view_access_and_a_yes() {
        let (mut a, t0) = app();
        a.apply(clients(&["victim"]), t0);
        a.handle_key(key(KeyCode::Char('2')));
        a.access = Access::NotOffered("mosquitto version 2.0.11".into());
        assert_eq!(a.handle_key(key(KeyCode::Char('K'))), None);
        assert_eq!(a.mode, Mode::Normal);
        assert!(a.status.as_ref().unwrap().0.contains("cannot disconnect"));
        a.access = Access::Granted;
        a.handle_key(key(KeyCode::Char('K')));
        assert_eq!(a.mode, Mode::Confirm(Confirm::Disconnect("victim".into())));
        assert_eq!(a.handle_key(key(KeyCode::Char('n'))), None);
        assert_eq!(a.mode, Mode::Normal);
        a.handle_key(key(KeyCode::Delete));
        assert_eq!(
            a.handle_key(key(KeyCode::Char('y'))),
            Some(Action::Disconnect("victim".into()))
        );
        a.apply(
            Update::Reply(Reply::Disconnected(Disconnected {
                client_id: "victim".into(),
                existed: true,
            })),
            t0,
        );
        assert_eq!(a.status.as_ref().unwrap().0, "victim was disconnected");
    }

    #[test]
    fn pause_freezes_figures_but_not_the_link() {
        let (mut a, t0) = app();
        a.apply(sys("clients/connected", "1", false), t0);
        a.handle_key(key(KeyCode::Char('p')));
        assert!(a.paused);
        a.apply(sys("clients/connected", "9", false), t0);
        a.apply(clients(&["x"]), t0);
        a.apply(Update::Connected, t0);
        assert_eq!(a.figures.value(name::CLIENTS_CONNECTED), Some(1));
        assert!(a.clients.rows().is_empty());
        assert!(matches!(a.link, Link::Connected { .. }));
        a.tick(t0, 0);
        assert!(a.history.connections.is_empty(), "no samples while paused");
        a.handle_key(key(KeyCode::Char('p')));
        a.apply(sys("clients/connected", "9", false), t0);
        assert_eq!(a.figures.value(name::CLIENTS_CONNECTED), Some(9));
    }

    #[test]
    fn status_messages_expire_and_history_is_bounded() {
        let (mut a, t0) = app();
        a.set_status("hello", t0);
        a.tick(t0 + Duration::from_secs(1), 0);
        assert!(a.status.is_some());
        a.tick(t0 + Duration::from_secs(10), 0);
        assert!(a.status.is_none());
        for i in 0..HISTORY + 5 {
            a.history.commits.push(Some(i as f64));
        }
        assert_eq!(a.history.commits.len(), HISTORY);
        assert_eq!(
            a.history.commits.last(2),
            [Some(HISTORY as f64 + 3.0), Some(HISTORY as f64 + 4.0)]
        );
    }

    #[test]
    fn missing_figures_lists_what_the_broker_never_sent() {
        let (mut a, t0) = app();
        assert_eq!(a.missing_figures().len(), 13);
        a.apply(sys("clients/connected", "1", true), t0);
        assert!(!a.missing_figures().contains(&name::CLIENTS_CONNECTED));
        assert!(a.missing_figures().contains(&name::STORED));
    }
}
