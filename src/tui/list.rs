//! A list view's state: rows from the broker, sorted by a chosen column, filtered by a
//! substring, with a selection that follows its row across refreshes.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::time::Instant;

use super::admin::{ClientRow, RetainedRow, SessionRow, SubscriberRow, TopicRow};

/// A row type a list view can show.
pub trait Row {
    /// Column titles, in display order.
    const COLUMNS: &'static [&'static str];
    /// Column sorted by at first, and whether descending.
    const DEFAULT_SORT: (usize, bool);
    /// What identifies the row across refreshes.
    fn key(&self) -> Cow<'_, str>;
    /// Whether the row matches a filter (given in lower case).
    fn matches(&self, needle: &str) -> bool;
    /// Ascending order by `column`.
    fn compare(&self, other: &Self, column: usize) -> Ordering;
    /// Whether `column` holds numbers (sorted descending first: the biggest matter most).
    fn numeric(column: usize) -> bool {
        column > 0
    }
}

/// One list view.
#[derive(Debug, Clone)]
pub struct ListState<R> {
    rows: Vec<R>,
    /// Rows the broker has in all (a reply may carry fewer).
    pub total: usize,
    /// Column sorted by.
    pub sort: usize,
    /// Sort direction.
    pub descending: bool,
    /// Lower-case substring rows must contain; empty: all rows.
    pub filter: String,
    selected: usize,
    selected_key: Option<String>,
    /// When the rows last came.
    pub updated: Option<Instant>,
}

impl<R: Row> Default for ListState<R> {
    fn default() -> Self {
        ListState {
            rows: Vec::new(),
            total: 0,
            sort: R::DEFAULT_SORT.0,
            descending: R::DEFAULT_SORT.1,
            filter: String::new(),
            selected: 0,
            selected_key: None,
            updated: None,
        }
    }
}

impl<R: Row> ListState<R> {
    /// Replaces the rows, keeping the selection on the same row if it is still there.
    pub fn set_rows(&mut self, rows: Vec<R>, total: usize, at: Instant) {
        self.rows = rows;
        self.total = total;
        self.updated = Some(at);
        self.reselect();
    }

    /// The rows to show: filtered, then sorted (ties broken by key, so the order is stable).
    pub fn visible(&self) -> Vec<&R> {
        let mut rows: Vec<&R> = self
            .rows
            .iter()
            .filter(|r| self.filter.is_empty() || r.matches(&self.filter))
            .collect();
        rows.sort_by(|a, b| {
            let order = a.compare(b, self.sort);
            let order = if self.descending { order.reverse() } else { order };
            order.then_with(|| a.key().cmp(&b.key()))
        });
        rows
    }

    /// Every row received, unfiltered.
    pub fn rows(&self) -> &[R] {
        &self.rows
    }

    /// Index of the selected row in [`ListState::visible`].
    pub fn selected(&self) -> usize {
        self.selected
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<&R> {
        self.visible().get(self.selected).copied()
    }

    /// Moves the selection by `delta` rows, stopping at the ends.
    pub fn move_selection(&mut self, delta: isize) {
        let len = self.visible().len();
        if len == 0 {
            self.selected = 0;
            self.selected_key = None;
            return;
        }
        let target = (self.selected as isize + delta).clamp(0, len as isize - 1);
        self.select(target as usize);
    }

    /// Selects the first row.
    pub fn select_first(&mut self) {
        self.select(0);
    }

    /// Selects the last row.
    pub fn select_last(&mut self) {
        let len = self.visible().len();
        self.select(len.saturating_sub(1));
    }

    fn select(&mut self, index: usize) {
        let key = self.visible().get(index).map(|r| r.key().into_owned());
        self.selected = if key.is_some() { index } else { 0 };
        self.selected_key = key;
    }

    /// Puts the selection back on its row after the rows, the order or the filter changed.
    fn reselect(&mut self) {
        let visible = self.visible();
        let found = self
            .selected_key
            .as_deref()
            .and_then(|key| visible.iter().position(|r| r.key() == key));
        let index = found.unwrap_or_else(|| self.selected.min(visible.len().saturating_sub(1)));
        drop(visible);
        self.select(index);
    }

    /// Sorts by the next column (numbers biggest first, text A to Z).
    pub fn cycle_sort(&mut self) {
        self.sort = (self.sort + 1) % R::COLUMNS.len();
        self.descending = R::numeric(self.sort);
        self.reselect();
    }

    /// Reverses the sort direction.
    pub fn reverse_sort(&mut self) {
        self.descending = !self.descending;
        self.reselect();
    }

    /// Drops the rows `gone` picks (one the broker just deleted), before the next refresh.
    pub fn remove(&mut self, gone: impl Fn(&R) -> bool) {
        let before = self.rows.len();
        self.rows.retain(|r| !gone(r));
        self.total = self.total.saturating_sub(before - self.rows.len());
        self.reselect();
    }

    /// Sets the filter (matched case-insensitively).
    pub fn set_filter(&mut self, filter: &str) {
        self.filter = filter.to_lowercase();
        self.reselect();
    }
}

fn contains(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(needle)
}

fn by_f64(a: f64, b: f64) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

impl Row for ClientRow {
    const COLUMNS: &'static [&'static str] = &[
        "Client ID",
        "User",
        "Address",
        "Ver",
        "Connected",
        "KA",
        "Subs",
        "Inflt",
        "Queue",
        "Msgs in",
        "Msgs out",
        "Drops",
    ];
    /// Busiest publishers first.
    const DEFAULT_SORT: (usize, bool) = (9, true);

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.client_id)
    }

    fn matches(&self, needle: &str) -> bool {
        contains(&self.client_id, needle)
            || contains(&self.address, needle)
            || self.user_name.as_deref().is_some_and(|u| contains(u, needle))
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            0 => self.client_id.cmp(&other.client_id),
            1 => self.user_name.cmp(&other.user_name),
            2 => self.address.cmp(&other.address),
            3 => self.protocol_version.cmp(&other.protocol_version),
            // Connected longest first when descending.
            4 => other.connected_since_ms.cmp(&self.connected_since_ms),
            5 => self.keep_alive.cmp(&other.keep_alive),
            6 => self.subscriptions.cmp(&other.subscriptions),
            7 => self.inflight.cmp(&other.inflight),
            8 => self.queued.cmp(&other.queued),
            9 => self.messages_in.cmp(&other.messages_in),
            10 => self.messages_out.cmp(&other.messages_out),
            _ => self.dropped.cmp(&other.dropped),
        }
    }

    fn numeric(column: usize) -> bool {
        column > 3
    }
}

impl Row for SessionRow {
    const COLUMNS: &'static [&'static str] = &[
        "Client ID",
        "Queued",
        "Inflight",
        "Subs",
        "Offline for",
        "Expires in",
        "Drops",
    ];
    /// Deepest queues first.
    const DEFAULT_SORT: (usize, bool) = (1, true);

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.client_id)
    }

    fn matches(&self, needle: &str) -> bool {
        contains(&self.client_id, needle)
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            0 => self.client_id.cmp(&other.client_id),
            1 => self.queued.cmp(&other.queued),
            2 => self.inflight.cmp(&other.inflight),
            3 => self.subscriptions.cmp(&other.subscriptions),
            // Offline longest first when descending.
            4 => other.offline_since_ms.cmp(&self.offline_since_ms),
            // Never-expiring sessions last when ascending (soonest first).
            5 => self
                .expires_at_ms
                .unwrap_or(u64::MAX)
                .cmp(&other.expires_at_ms.unwrap_or(u64::MAX)),
            _ => self.dropped.cmp(&other.dropped),
        }
    }
}

impl Row for TopicRow {
    const COLUMNS: &'static [&'static str] = &["Topic", "Msgs/s", "Bytes/s", "Msgs", "Bytes"];
    /// Busiest first.
    const DEFAULT_SORT: (usize, bool) = (1, true);

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.topic)
    }

    fn matches(&self, needle: &str) -> bool {
        contains(&self.topic, needle)
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            0 => self.topic.cmp(&other.topic),
            1 => by_f64(self.messages_per_second, other.messages_per_second),
            2 => by_f64(self.bytes_per_second, other.bytes_per_second),
            3 => self.messages.cmp(&other.messages),
            _ => self.bytes.cmp(&other.bytes),
        }
    }
}

impl Row for SubscriberRow {
    const COLUMNS: &'static [&'static str] = &["Filter", "Client ID", "State", "QoS", "Sub id"];
    /// By filter: the clients of one filter together.
    const DEFAULT_SORT: (usize, bool) = (0, false);

    fn key(&self) -> Cow<'_, str> {
        // A NUL cannot be in a filter, so the pair is unambiguous.
        Cow::Owned(format!("{}\0{}", self.filter, self.client_id))
    }

    fn matches(&self, needle: &str) -> bool {
        contains(&self.filter, needle) || contains(&self.client_id, needle)
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            0 => self.filter.cmp(&other.filter),
            1 => self.client_id.cmp(&other.client_id),
            2 => self.connected.cmp(&other.connected),
            3 => self.qos.cmp(&other.qos),
            _ => self.subscription_id.cmp(&other.subscription_id),
        }
    }

    fn numeric(column: usize) -> bool {
        column > 1
    }
}

impl Row for RetainedRow {
    const COLUMNS: &'static [&'static str] = &["Topic", "QoS", "Bytes"];
    /// By topic: the tree.
    const DEFAULT_SORT: (usize, bool) = (0, false);

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.topic)
    }

    fn matches(&self, needle: &str) -> bool {
        contains(&self.topic, needle) || (!self.preview_hex && contains(&self.preview, needle))
    }

    fn compare(&self, other: &Self, column: usize) -> Ordering {
        match column {
            0 => self.topic.cmp(&other.topic),
            1 => self.qos.cmp(&other.qos),
            _ => self.payload_bytes.cmp(&other.payload_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, address: &str, messages_in: u64) -> ClientRow {
        ClientRow {
            client_id: id.into(),
            address: address.into(),
            messages_in,
            ..Default::default()
        }
    }

    fn ids(list: &ListState<ClientRow>) -> Vec<&str> {
        list.visible().iter().map(|r| r.client_id.as_str()).collect()
    }

    fn sample() -> ListState<ClientRow> {
        let mut list = ListState::default();
        list.set_rows(
            vec![
                client("sensor-1", "10.0.0.1:5000", 5),
                client("Sensor-2", "10.0.0.2:5000", 50),
                client("dash", "127.0.0.1:6000", 0),
            ],
            3,
            Instant::now(),
        );
        list
    }

    #[test]
    fn default_sort_is_busiest_publisher_first() {
        let list = sample();
        assert_eq!(ids(&list), ["Sensor-2", "sensor-1", "dash"]);
    }

    #[test]
    fn sorting_cycles_columns_and_reverses() {
        let mut list = sample();
        list.sort = 0;
        list.descending = false;
        assert_eq!(ids(&list), ["Sensor-2", "dash", "sensor-1"]);
        list.reverse_sort();
        assert_eq!(ids(&list), ["sensor-1", "dash", "Sensor-2"]);
        list.cycle_sort();
        assert_eq!(list.sort, 1, "user name");
        assert!(!list.descending, "text sorts A to Z first");
        list.cycle_sort();
        assert_eq!(list.sort, 2, "address");
        assert_eq!(ids(&list), ["sensor-1", "Sensor-2", "dash"]);
        for _ in 0..ClientRow::COLUMNS.len() {
            list.cycle_sort();
        }
        assert_eq!(list.sort, 2, "cycling wraps around");
    }

    #[test]
    fn filter_matches_id_address_or_user_ignoring_case() {
        let mut list = sample();
        let mut rows = list.rows().to_vec();
        rows[2].user_name = Some("Operator".into());
        list.set_rows(rows, 3, Instant::now());
        list.set_filter("operat");
        assert_eq!(ids(&list), ["dash"]);
        list.set_filter("SENSOR");
        assert_eq!(ids(&list), ["Sensor-2", "sensor-1"]);
        list.set_filter("127.0.0");
        assert_eq!(ids(&list), ["dash"]);
        list.set_filter("nothing");
        assert!(ids(&list).is_empty());
        assert!(list.selected_row().is_none());
        list.set_filter("");
        assert_eq!(list.visible().len(), 3);
    }

    #[test]
    fn selection_follows_its_row_across_refreshes_and_stops_at_the_ends() {
        let mut list = sample();
        list.move_selection(1);
        assert_eq!(list.selected_row().unwrap().client_id, "sensor-1");
        // sensor-1 becomes the busiest: it moves to the top and the selection with it.
        list.set_rows(
            vec![
                client("sensor-1", "10.0.0.1:5000", 500),
                client("Sensor-2", "10.0.0.2:5000", 50),
                client("dash", "127.0.0.1:6000", 0),
            ],
            3,
            Instant::now(),
        );
        assert_eq!(list.selected(), 0);
        assert_eq!(list.selected_row().unwrap().client_id, "sensor-1");
        list.move_selection(-5);
        assert_eq!(list.selected(), 0);
        list.move_selection(10);
        assert_eq!(list.selected_row().unwrap().client_id, "dash");
        // The selected row leaves: the selection stays in range.
        list.set_rows(vec![client("sensor-1", "", 1)], 1, Instant::now());
        assert_eq!(list.selected_row().unwrap().client_id, "sensor-1");
        list.set_rows(Vec::new(), 0, Instant::now());
        assert!(list.selected_row().is_none());
    }

    #[test]
    fn sessions_expiring_soonest_sort_first_and_never_last() {
        let mut list: ListState<SessionRow> = ListState::default();
        let row = |id: &str, expires: Option<u64>| SessionRow {
            client_id: id.into(),
            expires_at_ms: expires,
            ..Default::default()
        };
        list.set_rows(
            vec![
                row("never", None),
                row("late", Some(9_000)),
                row("soon", Some(1_000)),
            ],
            3,
            Instant::now(),
        );
        list.sort = 5;
        list.descending = false;
        let order: Vec<&str> = list.visible().iter().map(|r| r.client_id.as_str()).collect();
        assert_eq!(order, ["soon", "late", "never"]);
    }
}
