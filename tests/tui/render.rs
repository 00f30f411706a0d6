//! Each view drawn into a TestBackend buffer from a known state, asserting on the text (and,
//! for NO_COLOR, on the styles) of the buffer.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use robustmq::tui::admin::{
    BridgeList, BridgeRow, BrokerStats, ClientDetail, ClientList, ClientRow, Latency, Reply, RetainedDeleted,
    RetainedList, RetainedRow, SessionDeleted, SessionList, SessionRow, StoreStats, SubscriberRow,
    SubscriptionInfo, SubscriptionList, TopicList, TopicRow, WillInfo,
};
use robustmq::tui::app::{Action, App, Update, View};
use robustmq::tui::ui::{draw, Theme};

/// Unix milliseconds the fixtures treat as now.
const NOW_MS: u64 = 1_800_000_000_000;
const COLOR: Theme = Theme { color: true };

fn key(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn sys(app: &mut App, name: &str, value: &str, at: Instant) {
    app.apply(
        Update::Sys {
            topic: format!("$SYS/broker/{name}"),
            payload: value.as_bytes().to_vec(),
            retained: false,
        },
        at,
    );
}

fn stats(publish_received: u64, bytes_received: u64) -> BrokerStats {
    BrokerStats {
        version: "0.1.0".into(),
        uptime_seconds: 3725,
        clients_connected: 3,
        clients_total: 5,
        clients_maximum: 7,
        clients_disconnected: 2,
        publish_received,
        publish_sent: publish_received * 2,
        publish_dropped: 4,
        bytes_received,
        bytes_sent: bytes_received * 2,
        subscriptions: 40,
        retained_messages: 12,
        queued_messages: 9,
        stored_messages: 21,
        ..Default::default()
    }
}

fn client(id: &str, address: &str, version: &str, messages_in: u64) -> ClientRow {
    ClientRow {
        client_id: id.into(),
        user_name: None,
        address: address.into(),
        protocol_version: version.into(),
        connected_since_ms: NOW_MS - 312_000,
        keep_alive: 60,
        subscriptions: 2,
        inflight: 1,
        queued: 3,
        messages_in,
        messages_out: 7,
        bytes_in: 100,
        bytes_out: 200,
        dropped: 0,
        ..Default::default()
    }
}

/// robustmq, connected, ten seconds of traffic at 200 messages/s in, and a reply for every view.
fn robustmq_app() -> App {
    let t0 = Instant::now();
    let mut app = App::new("localhost:1883", t0, NOW_MS);
    app.apply(Update::Connected, t0);
    sys(&mut app, "version", "robustmq version 0.1.0", t0);
    for i in 0..=10u64 {
        let at = t0 + Duration::from_secs(i);
        app.apply(Update::Reply(Reply::Broker(stats(i * 200, i * 20_480))), at);
        app.tick(at, NOW_MS);
    }
    let at = t0 + Duration::from_secs(10);
    app.apply(
        Update::Reply(Reply::Clients(ClientList {
            total: 3,
            offset: 0,
            clients: vec![
                client("sensor-kitchen", "192.168.1.20:50123", "3.1.1", 1500),
                client("sensor-garage", "192.168.1.21:50124", "5.0", 300),
                ClientRow {
                    user_name: Some("operator".into()),
                    ..client("dashboard", "127.0.0.1:40000", "5.0", 0)
                },
            ],
        })),
        at,
    );
    app.apply(
        Update::Reply(Reply::Topics(TopicList {
            window_seconds: 10.0,
            distinct_topics: 2,
            untracked_messages: 0,
            sampling: 1,
            topics: vec![
                TopicRow {
                    topic: "home/kitchen/temperature".into(),
                    messages: 1500,
                    bytes: 15_000,
                    messages_per_second: 150.0,
                    bytes_per_second: 1500.0,
                },
                TopicRow {
                    topic: "home/garage/door".into(),
                    messages: 300,
                    bytes: 3000,
                    messages_per_second: 30.0,
                    bytes_per_second: 300.0,
                },
            ],
        })),
        at,
    );
    app.apply(
        Update::Reply(Reply::Sessions(SessionList {
            total: 2,
            offset: 0,
            sessions: vec![
                SessionRow {
                    client_id: "logger".into(),
                    queued: 120,
                    inflight: 2,
                    subscriptions: 1,
                    offline_since_ms: Some(NOW_MS - 90_000),
                    expiry_interval: 3600,
                    expires_at_ms: Some(NOW_MS - 90_000 + 3_600_000),
                    dropped: 0,
                },
                SessionRow {
                    client_id: "archiver".into(),
                    queued: 5,
                    offline_since_ms: Some(NOW_MS - 5000),
                    expiry_interval: u32::MAX,
                    expires_at_ms: None,
                    ..Default::default()
                },
            ],
        })),
        at,
    );
    app.apply(
        Update::Reply(Reply::Store(StoreStats {
            durable: true,
            durability: "immediate".into(),
            file: Some("/var/lib/robustmq/robustmq.redb".into()),
            file_bytes: Some(3 * 1024 * 1024),
            commits: 1234,
            fsyncs: 1200,
            ops: 5000,
            last_commit_us: 2300,
            errors: 0,
            full: false,
            store_bytes: 256 * 1024 * 1024,
            max_store_bytes: 1024 * 1024 * 1024,
            queued_messages: 125,
            commit_latency: Latency {
                count: 100,
                sum_seconds: 0.2,
                buckets: vec![(0.001, 40), (0.0025, 90), (0.01, 100)],
            },
        })),
        at,
    );
    app
}

/// Mosquitto: `$SYS` only, some figures never published.
fn mosquitto_app() -> App {
    let t0 = Instant::now();
    let mut app = App::new("localhost:1883", t0, NOW_MS);
    app.apply(Update::Connected, t0);
    let at = t0 + Duration::from_secs(20);
    sys(&mut app, "version", "mosquitto version 2.0.11", at);
    sys(&mut app, "uptime", "65 seconds", at);
    sys(&mut app, "clients/connected", "2", at);
    sys(&mut app, "clients/total", "2", at);
    sys(&mut app, "publish/messages/received", "40", at);
    sys(&mut app, "bytes/received", "4000", at);
    app.tick(at, NOW_MS);
    app
}

/// Draws and returns the screen, one string per row.
fn render(app: &App, width: u16, height: u16, theme: Theme) -> (Vec<String>, ratatui::buffer::Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, app, theme)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let rows = (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect();
    (rows, buffer)
}

fn screen(app: &App, width: u16, height: u16) -> String {
    render(app, width, height, COLOR).0.join("\n")
}

fn assert_has(screen: &str, needles: &[&str]) {
    for needle in needles {
        assert!(screen.contains(needle), "{needle:?} not on the screen:\n{screen}");
    }
}

fn assert_lacks(screen: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            !screen.contains(needle),
            "{needle:?} should not be on the screen:\n{screen}"
        );
    }
}

fn row_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no row with {needle:?}:\n{screen}"))
}

#[test]
fn overview_80x24_has_header_tabs_charts_and_keys() {
    let app = robustmq_app();
    let s = screen(&app, 80, 24);
    assert_has(
        &s,
        &[
            "robustmq top",
            "localhost:1883",
            "● connected",
            "up 1h02m",
            "Clients 3 of 5 · max 7",
            "Subscriptions 40",
            "Retained 12",
            "Stored 21",
            "Queued 9",
            "Msgs in 200/s",
            "out 400/s",
            "Bytes in 20 KiB/s",
            "Dropped 4",
            "1 Overview",
            "5 Store",
            "Msgs in 200/s · peak 200/s",
            "Connections 3",
            "q quit",
        ],
    );
    // 80 columns leave no room for the topics box.
    assert_lacks(&s, &["Busiest topics"]);
    assert!(s.contains('█'), "charts are drawn:\n{s}");
}

#[test]
fn header_rates_and_chart_titles_are_one_figure() {
    let t0 = Instant::now();
    let mut app = App::new("localhost:1883", t0, NOW_MS);
    app.apply(Update::Connected, t0);
    sys(&mut app, "version", "mosquitto version 2.0.11", t0);
    sys(&mut app, "publish/messages/received", "0", t0);
    let t2 = t0 + Duration::from_secs(2);
    sys(&mut app, "publish/messages/received", "1", t2);
    app.tick(t2, NOW_MS);
    // Half a message a second: not rounded away in the chart.
    let s = screen(&app, 100, 30);
    assert_has(&s, &["Msgs in 0.5/s  out –", "Msgs in 0.5/s · peak 0.5/s"]);
    // A new count between two ticks: neither moves until the next sample.
    let t4 = t0 + Duration::from_secs(4);
    sys(&mut app, "publish/messages/received", "9", t4);
    let s = screen(&app, 100, 30);
    assert_has(&s, &["Msgs in 0.5/s  out –", "Msgs in 0.5/s · peak 0.5/s"]);
    app.tick(t4, NOW_MS);
    let s = screen(&app, 100, 30);
    assert_has(&s, &["Msgs in 4/s  out –", "Msgs in 4/s · peak 4/s"]);
}

#[test]
fn charts_have_a_value_axis_with_units_and_a_time_axis() {
    let s = screen(&robustmq_app(), 160, 48);
    assert_has(
        &s,
        &[
            "200 msg/s",
            "400 msg/s",
            "0 msg/s",
            "20 KiB/s",
            "40 KiB/s",
            "0 B/s",
            "3 clients",
            "0 commits/s",
            "now",
        ],
    );
    let time_axis = s.split(|c: char| c.is_whitespace() || c == '│').any(|t| {
        t.strip_prefix('-')
            .and_then(|t| t.strip_suffix('s'))
            .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n > 0))
    });
    assert!(time_axis, "a time axis from -Ns to now:\n{s}");
    // 80x24 keeps the value axis; the time span is in the bars' width.
    let small = screen(&robustmq_app(), 80, 24);
    assert_has(&small, &["200 msg/s", "20 KiB/s", "3 clients"]);
}

#[test]
fn overview_160x48_adds_the_busiest_topics() {
    let s = screen(&robustmq_app(), 160, 48);
    assert_has(
        &s,
        &[
            "Busiest topics 2 · last 10s",
            "home/kitchen/temperature",
            "robustmq version 0.1.0",
        ],
    );
    let kitchen = row_with(&s, "home/kitchen/temperature");
    assert!(kitchen.contains("150"), "{kitchen}");
}

#[test]
fn clients_view_lists_sorted_rows_with_columns_that_fit() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('2'));
    assert_eq!(app.view, View::Clients);
    let narrow = screen(&app, 80, 24);
    assert_has(
        &narrow,
        &[
            "Clients 3",
            "Client ID",
            "Msgs in ▼",
            "Msgs out",
            "sensor-kitchen",
        ],
    );
    assert_lacks(&narrow, &["Address", "192.168.1.20"]);
    let lines: Vec<&str> = narrow.lines().collect();
    let first = lines.iter().position(|l| l.contains("sensor-kitchen")).unwrap();
    let second = lines.iter().position(|l| l.contains("sensor-garage")).unwrap();
    assert!(first < second, "busiest first:\n{narrow}");
    assert!(row_with(&narrow, "sensor-kitchen").contains("5m12s"), "{narrow}");
    let wide = screen(&app, 160, 48);
    assert_has(
        &wide,
        &["Address", "192.168.1.20:50123", "KA", "3.1.1", "Inflt", "User"],
    );
    assert!(row_with(&wide, "dashboard").contains("operator"), "{wide}");
    assert!(
        row_with(&wide, "sensor-kitchen").contains('–'),
        "anonymous: {wide}"
    );
    // Sort by client id (first column): s cycles from the last column back to it.
    app.clients.sort = 0;
    app.clients.descending = false;
    let by_id = screen(&app, 80, 24);
    let lines: Vec<&str> = by_id.lines().collect();
    let dash = lines.iter().position(|l| l.contains("dashboard")).unwrap();
    let kitchen = lines.iter().position(|l| l.contains("sensor-kitchen")).unwrap();
    assert!(dash < kitchen, "{by_id}");
    assert_has(&by_id, &["Client ID ▲"]);
}

#[test]
fn filter_prompt_and_filtered_rows_show() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('/'));
    for c in "garage".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let s = screen(&app, 80, 24);
    assert_has(
        &s,
        &[
            "Filter: garage",
            "Clients 1 of 3",
            "filter \"garage\"",
            "sensor-garage",
        ],
    );
    assert_lacks(&s, &["sensor-kitchen"]);
}

#[test]
fn the_client_filter_matches_user_names_and_esc_clears_it() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('/'));
    for c in "OPER".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    let s = screen(&app, 80, 24);
    assert_has(&s, &["Clients 1 of 3", "dashboard"]);
    assert_lacks(&s, &["sensor-kitchen", "sensor-garage"]);
    key(&mut app, KeyCode::Esc);
    let s = screen(&app, 80, 24);
    assert_has(&s, &["Clients 3", "dashboard", "sensor-kitchen", "sensor-garage"]);
}

#[test]
fn disconnect_asks_for_confirmation_in_the_footer() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('2'));
    key(&mut app, KeyCode::Char('k'));
    let s = screen(&app, 80, 24);
    assert_has(&s, &["disconnect sensor-kitchen? y/n"]);
}

fn detail_reply() -> ClientDetail {
    ClientDetail {
        client_id: "sensor-kitchen".into(),
        user_name: Some("alice".into()),
        address: "192.168.1.20:50123".into(),
        protocol_version: "5.0".into(),
        connected_since_ms: NOW_MS - 312_000,
        keep_alive: 60,
        clean_start: false,
        session_expiry_interval: 3600,
        will: Some(WillInfo {
            topic: "status/kitchen".into(),
            qos: 1,
            retain: true,
            delay_interval: 30,
            payload_bytes: 7,
        }),
        subscriptions: vec![SubscriptionInfo {
            filter: "cmd/kitchen/#".into(),
            qos: 2,
            no_local: true,
            retain_as_published: false,
            retain_handling: 2,
            subscription_id: Some(42),
        }],
        subscriptions_total: 1,
        inflight: 1,
        queued: 3,
        queued_bytes: 300,
        messages_in: 1500,
        messages_out: 7,
        bytes_in: 100,
        bytes_out: 200,
        dropped: 2,
    }
}

#[test]
fn enter_opens_the_client_detail_and_esc_returns_to_the_list() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('2'));
    let action = app.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(action, Some(Action::Detail(Some("sensor-kitchen".into()))));
    assert_has(
        &screen(&app, 80, 24),
        &["Client sensor-kitchen", "waiting for the broker's answer"],
    );
    let t = app.now;
    app.apply(Update::Reply(Reply::ClientDetail(detail_reply())), t);
    let mut second = detail_reply();
    second.messages_in += 400;
    app.apply(
        Update::Reply(Reply::ClientDetail(second)),
        t + Duration::from_secs(2),
    );
    let s = screen(&app, 100, 30);
    assert_has(
        &s,
        &[
            "User alice",
            "Address 192.168.1.20:50123",
            "Protocol 5.0",
            "Keep alive 60s",
            "Session expiry 1h",
            "Will status/kitchen · QoS 1 · retained · delay 30s",
            "Queued 3",
            "Drops 2",
            "Msgs in 1.9k (200/s)",
            "Subscriptions 1",
            "cmd/kitchen/#",
        ],
    );
    assert!(row_with(&s, "cmd/kitchen/#").contains("never"), "{s}");
    assert!(row_with(&s, "cmd/kitchen/#").contains("42"), "{s}");
    key(&mut app, KeyCode::Char('k'));
    assert_has(&screen(&app, 100, 30), &["disconnect sensor-kitchen? y/n"]);
    key(&mut app, KeyCode::Char('n'));
    app.apply(
        Update::Reply(Reply::Error {
            command: "clients/get".into(),
            message: "no client \"sensor-kitchen\" is connected".into(),
        }),
        t + Duration::from_secs(3),
    );
    assert_has(
        &screen(&app, 100, 30),
        &["as last seen: no client \"sensor-kitchen\" is connected"],
    );
    let action = app.handle_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert_eq!(action, Some(Action::Detail(None)));
    assert_has(&screen(&app, 80, 24), &["Clients 3", "sensor-garage"]);
}

fn subscriber(filter: &str, client_id: &str, connected: bool) -> SubscriberRow {
    SubscriberRow {
        filter: filter.into(),
        client_id: client_id.into(),
        connected,
        qos: 1,
        subscription_id: None,
    }
}

#[test]
fn subscriptions_view_names_each_filter_once_above_its_clients_and_filters() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('7'));
    assert_eq!(app.view, View::Subscriptions);
    assert_has(&screen(&app, 80, 24), &["waiting for the broker's answer"]);
    let at = app.now;
    app.apply(
        Update::Reply(Reply::Subscriptions(SubscriptionList {
            total: 3,
            offset: 0,
            subscriptions: vec![
                subscriber("home/#", "dashboard", true),
                subscriber("home/#", "logger", false),
                SubscriberRow {
                    subscription_id: Some(7),
                    ..subscriber("alerts", "pager", true)
                },
            ],
        })),
        at,
    );
    let s = screen(&app, 80, 24);
    assert_has(&s, &["Subscriptions 3", "Filter ▲", "Client ID", "State"]);
    let lines: Vec<&str> = s.lines().collect();
    let alerts = lines.iter().position(|l| l.contains("alerts")).unwrap();
    let dashboard = lines.iter().position(|l| l.contains("dashboard")).unwrap();
    let logger = lines.iter().position(|l| l.contains("logger")).unwrap();
    assert!(alerts < dashboard && dashboard + 1 == logger, "{s}");
    assert!(
        lines[dashboard].contains("home/#") && lines[dashboard].contains("online"),
        "{s}"
    );
    assert!(
        !lines[logger].contains("home/#") && lines[logger].contains("offline"),
        "{s}"
    );
    assert!(row_with(&s, "pager").contains('7'), "{s}");
    key(&mut app, KeyCode::Char('/'));
    for c in "LOG".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let s = screen(&app, 80, 24);
    assert_has(&s, &["Subscriptions 1 of 3", "logger", "home/#"]);
    assert_lacks(&s, &["dashboard", "pager"]);
}

fn retained(topic: &str, payload: &[u8]) -> RetainedRow {
    let (preview, preview_hex) = robustmq::admin_api::preview(payload);
    RetainedRow {
        topic: topic.into(),
        qos: 1,
        payload_bytes: payload.len(),
        preview,
        preview_hex,
    }
}

fn retained_app() -> App {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('8'));
    assert_eq!(app.view, View::Retained);
    let at = app.now;
    app.apply(
        Update::Reply(Reply::Retained(RetainedList {
            total: 4,
            offset: 0,
            messages: vec![
                retained("home/kitchen/temp", b"21.5"),
                retained("home/garage/door", &[0xde, 0xad, 0xbe, 0xef]),
                retained("home/kitchen/log", &[b'x'; 100]),
                retained("office", b"open"),
            ],
        })),
        at,
    );
    app
}

#[test]
fn retained_view_is_a_topic_tree_with_a_payload_preview() {
    let mut app = retained_app();
    let s = screen(&app, 80, 24);
    assert_has(&s, &["Retained 4", "d delete", "Topic ▲", "Payload"]);
    let lines: Vec<&str> = s.lines().collect();
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not on screen:\n{s}"))
    };
    let (home, garage, door, kitchen, log, temp) = (
        at("│home/"),
        at("  garage/"),
        at("    door"),
        at("  kitchen/"),
        at("    log"),
        at("    temp"),
    );
    assert!(
        home < garage && garage < door && door < kitchen && kitchen < log && log < temp,
        "{s}"
    );
    // The first message (home/garage/door) is selected: its preview, in hex.
    assert_has(
        &s,
        &[
            "home/garage/door · QoS 1 · 4 bytes · not UTF-8, in hex",
            "deadbeef",
        ],
    );
    key(&mut app, KeyCode::Down);
    let s = screen(&app, 80, 24);
    assert_has(
        &s,
        &[
            "home/kitchen/log · QoS 1 · 100 bytes · first 64 shown",
            &format!("{}…", "x".repeat(50)),
        ],
    );
    key(&mut app, KeyCode::Char('/'));
    for c in "21.".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    let s = screen(&app, 80, 24);
    assert_has(&s, &["Retained 1 of 4", "temp", "21.5"]);
    assert_lacks(&s, &["door", "office"]);
}

#[test]
fn deleting_a_retained_message_asks_first_and_says_what_happened() {
    let mut app = retained_app();
    assert_eq!(
        app.handle_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE)),
        None
    );
    assert_has(
        &screen(&app, 80, 24),
        &["delete the retained message of home/garage/door? y/n"],
    );
    key(&mut app, KeyCode::Char('n'));
    assert_has(&screen(&app, 80, 24), &["not deleted", "door"]);
    key(&mut app, KeyCode::Delete);
    let action = app.handle_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    assert_eq!(action, Some(Action::DeleteRetained("home/garage/door".into())));
    let at = app.now;
    app.apply(
        Update::Reply(Reply::RetainedDeleted(RetainedDeleted {
            topic: "home/garage/door".into(),
            existed: true,
        })),
        at,
    );
    let s = screen(&app, 80, 24);
    assert_has(
        &s,
        &[
            "the retained message of home/garage/door was deleted",
            "Retained 3",
        ],
    );
    assert_lacks(&s, &["    door", "  garage/"]);
}

#[test]
fn an_offline_session_is_deleted_after_a_yes_and_a_connected_one_is_explained() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('4'));
    key(&mut app, KeyCode::Char('d'));
    assert_has(
        &screen(&app, 80, 24),
        &["delete the offline session of logger? y/n"],
    );
    let action = app.handle_key(KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE));
    assert_eq!(action, Some(Action::DeleteSession("logger".into())));
    let at = app.now;
    app.apply(
        Update::Reply(Reply::SessionDeleted(SessionDeleted {
            client_id: "logger".into(),
            existed: true,
        })),
        at,
    );
    let s = screen(&app, 80, 24);
    assert_has(
        &s,
        &[
            "the session of logger was deleted",
            "Offline sessions 1",
            "archiver",
        ],
    );
    assert_lacks(&s, &["│logger"]);
    app.apply(
        Update::Reply(Reply::Error {
            command: "sessions/delete".into(),
            message: "client \"archiver\" is connected: only an offline session can be deleted".into(),
        }),
        at,
    );
    assert_has(
        &screen(&app, 120, 24),
        &["sessions/delete: client \"archiver\" is connected: only an offline session can be deleted"],
    );
}

#[test]
fn topics_view_shows_rates() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('3'));
    for (w, h) in [(80, 24), (160, 48)] {
        let s = screen(&app, w, h);
        assert_has(
            &s,
            &["Busiest topics 2 · last 10s", "Msgs/s ▼", "home/garage/door"],
        );
        let row = row_with(&s, "home/kitchen/temperature");
        assert!(row.contains("150") && row.contains("1.5 KiB"), "{row}");
    }
}

#[test]
fn sessions_view_shows_queues_and_expiry() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('4'));
    for (w, h) in [(80, 24), (160, 48)] {
        let s = screen(&app, w, h);
        assert_has(&s, &["Offline sessions 2", "Queued ▼", "Expires in"]);
        let logger = row_with(&s, "logger");
        assert!(logger.contains("120") && logger.contains("58m30s"), "{logger}");
        assert!(row_with(&s, "archiver").contains("never"), "{s}");
    }
}

#[test]
fn bridges_view_shows_each_link_and_what_it_carried() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('6'));
    assert_eq!(app.view, View::Bridges);
    assert_has(
        &screen(&app, 100, 24),
        &["Bridges", "waiting for the broker's answer"],
    );
    let row = |name: &str, state: &str, error: Option<&str>, queued: u64, dropped: u64| BridgeRow {
        name: name.into(),
        remote: format!("mqtt://{name}.example"),
        state: state.into(),
        error: error.map(Into::into),
        queued,
        sent: 345,
        received: 678,
        dropped,
    };
    app.apply(
        Update::Reply(Reply::Bridges(BridgeList {
            bridges: vec![
                row("cloud", "connected", None, 0, 0),
                row(
                    "backup",
                    "connecting",
                    Some("cannot connect to backup.example:1883"),
                    42,
                    17,
                ),
            ],
        })),
        Instant::now(),
    );
    let s = screen(&app, 140, 24);
    assert_has(
        &s,
        &["name", "remote", "state", "queued", "sent", "received", "dropped"],
    );
    let cloud = row_with(&s, "cloud");
    assert!(
        cloud.contains("connected") && cloud.contains("345") && cloud.contains("678"),
        "{cloud}"
    );
    let backup = row_with(&s, "backup");
    assert!(
        backup.contains("connecting: cannot connect") && backup.contains("42") && backup.contains("17"),
        "{backup}"
    );
    app.apply(
        Update::Reply(Reply::Bridges(BridgeList::default())),
        Instant::now(),
    );
    assert_has(&screen(&app, 100, 24), &["no bridge is configured"]);
}

#[test]
fn store_view_shows_the_file_commits_latency_and_fill() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('5'));
    for (w, h) in [(80, 24), (160, 48)] {
        let s = screen(&app, w, h);
        assert_has(
            &s,
            &[
                "immediate: each acknowledgement waits for its fsync",
                "/var/lib/robustmq/robustmq.redb",
                "3.0 MiB",
                "1.2k",
                "2.3 ms",
                "p50 ≤ 2.5 ms",
                "p99 ≤ 10.0 ms",
                "256 MiB of 1.0 GiB",
                "25.0%",
            ],
        );
    }
}

#[test]
fn a_full_disk_shows_in_the_title_and_the_store_view() {
    let mut app = robustmq_app();
    assert_lacks(&screen(&app, 80, 24), &["DISK FULL"]);
    app.apply(
        Update::Reply(Reply::Store(StoreStats {
            durable: true,
            durability: "immediate".into(),
            errors: 3,
            full: true,
            ..Default::default()
        })),
        Instant::now(),
    );
    assert_has(&screen(&app, 80, 24), &["DISK FULL"]);
    key(&mut app, KeyCode::Char('5'));
    let s = screen(&app, 80, 24);
    assert_has(&s, &["DISK FULL", "FULL: new messages refused; free disk space"]);
    assert!(row_with(&s, "Store errors").contains('3'), "{s}");
}

#[test]
fn mosquitto_gets_the_header_and_an_explanation_instead_of_details() {
    let mut app = mosquitto_app();
    let overview = screen(&app, 80, 24);
    assert_has(
        &overview,
        &[
            "mosquitto version 2.0.11",
            "Clients 2 of 2 · max –",
            "Not published by this broker:",
            "clients/maximum",
        ],
    );
    for view in ['2', '3', '4', '5', '7', '8'] {
        key(&mut app, KeyCode::Char(view));
        for (w, h) in [(80, 24), (160, 48)] {
            let s = screen(&app, w, h);
            assert_has(
                &s,
                &[
                    "not available from this broker",
                    "mosquitto version 2.0.11 publishes the",
                ],
            );
        }
    }
}

#[test]
fn a_lost_broker_is_reported_with_the_retry() {
    let mut app = robustmq_app();
    let now = app.now;
    app.apply(
        Update::Down {
            error: "cannot connect to localhost:1883: connection refused".into(),
            retry_in: Duration::from_secs(2),
        },
        now,
    );
    let s = screen(&app, 80, 24);
    assert_has(
        &s,
        &[
            "✕ disconnected",
            "broker unreachable: cannot connect to localhost:1883",
        ],
    );
    assert_has(&s, &["Clients 3 of 5"]);
    app.apply(Update::Connecting { attempt: 3 }, now);
    assert_has(&screen(&app, 80, 24), &["reconnecting (attempt 3)"]);
}

#[test]
fn help_overlay_lists_the_keys() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('?'));
    for (w, h) in [(80, 24), (160, 48)] {
        let s = screen(&app, w, h);
        assert_has(
            &s,
            &[
                "Keys",
                "quit",
                "filter rows",
                "disconnect the selected client",
                "pause",
            ],
        );
    }
}

#[test]
fn paused_shows_in_the_title() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('p'));
    assert_has(&screen(&app, 80, 24), &["PAUSED"]);
}

#[test]
fn no_color_draws_without_any_colour_and_selects_in_reverse_video() {
    let mut app = robustmq_app();
    key(&mut app, KeyCode::Char('2'));
    let (rows, buffer) = render(&app, 80, 24, Theme { color: false });
    for cell in buffer.content() {
        assert_eq!(
            cell.fg,
            Color::Reset,
            "a foreground colour with NO_COLOR: {cell:?}"
        );
        assert_eq!(
            cell.bg,
            Color::Reset,
            "a background colour with NO_COLOR: {cell:?}"
        );
    }
    let y = rows.iter().position(|r| r.contains("sensor-kitchen")).unwrap() as u16;
    assert!(
        buffer[(5, y)].modifier.contains(Modifier::REVERSED),
        "the selected row is in reverse video"
    );
    let (_, colored) = render(&app, 80, 24, COLOR);
    assert!(
        colored.content().iter().any(|c| c.fg != Color::Reset),
        "colours without NO_COLOR"
    );
}

#[test]
fn tiny_terminals_do_not_panic() {
    let mut app = robustmq_app();
    for view in ['1', '2', '3', '4', '5', '6', '7', '8', '?'] {
        key(&mut app, KeyCode::Char(view));
        for (w, h) in [(1, 1), (10, 3), (20, 8), (40, 10)] {
            render(&app, w, h, COLOR);
        }
    }
}
