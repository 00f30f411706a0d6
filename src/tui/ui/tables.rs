//! The list views (Clients, Topics, Sessions) and the Overview's busiest-topics box: tables that
//! keep the most useful columns when the terminal is narrow.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row as TableRow, Table, TableState};
use ratatui::Frame;

use super::format::{bytes, count, duration};
use super::{draw_unavailable, unavailable, Theme};
use crate::tui::admin::{ClientRow, SessionRow, SubscriberRow, TopicRow};
use crate::tui::app::App;
use crate::tui::list::{ListState, Row};

/// A column: its width and how much it matters (0 = always shown; higher drops first).
#[derive(Debug, Clone, Copy)]
struct Column {
    width: u16,
    priority: u8,
}

/// Widths wide enough for each title and a sort arrow.
fn with_titles(columns: &[Column], titles: &[&str]) -> Vec<Column> {
    columns
        .iter()
        .zip(titles)
        .map(|(c, title)| Column {
            width: c.width.max(title.chars().count() as u16 + 2),
            priority: c.priority,
        })
        .collect()
}

/// The columns that fit `width`, in display order. Column 0 (the name) is always shown and
/// takes whatever room is left, at least `min_first`.
fn fit(columns: &[Column], width: u16, min_first: u16) -> Vec<usize> {
    let mut by_priority: Vec<usize> = (1..columns.len()).collect();
    by_priority.sort_by_key(|&i| (columns[i].priority, i));
    let mut used = min_first;
    let mut shown = vec![0];
    for i in by_priority {
        let need = columns[i].width + 1;
        if used + need <= width {
            used += need;
            shown.push(i);
        }
    }
    shown.sort_unstable();
    shown
}

/// Draws a sortable list with a selection.
#[allow(clippy::too_many_arguments)]
fn draw_list<R: Row>(
    frame: &mut Frame,
    area: Rect,
    list: &ListState<R>,
    columns: &[Column],
    min_first: u16,
    title: String,
    cells: impl Fn(&R) -> Vec<String>,
    empty: &str,
    theme: Theme,
) {
    let inner_width = area.width.saturating_sub(2);
    let columns = &with_titles(columns, R::COLUMNS);
    let shown = fit(columns, inner_width, min_first);
    let arrow = if list.descending { " ▼" } else { " ▲" };
    let header = TableRow::new(shown.iter().map(|&i| {
        let mut title = R::COLUMNS[i].to_string();
        if i == list.sort {
            title.push_str(arrow);
        }
        if i == 0 {
            Cell::from(title)
        } else {
            Cell::from(Line::from(title).right_aligned())
        }
    }))
    .style(theme.header());
    let visible = list.visible();
    let rows = visible.iter().map(|row| {
        let all = cells(row);
        TableRow::new(shown.iter().map(|&i| {
            let text = all.get(i).cloned().unwrap_or_default();
            if i == 0 {
                Cell::from(text)
            } else {
                Cell::from(Line::from(text).right_aligned())
            }
        }))
    });
    let widths: Vec<Constraint> = shown
        .iter()
        .map(|&i| {
            if i == 0 {
                Constraint::Min(min_first)
            } else {
                Constraint::Length(columns[i].width)
            }
        })
        .collect();
    let mut title = title;
    if !list.filter.is_empty() {
        title.push_str(&format!(" · filter \"{}\"", list.filter));
    }
    if list.sort >= R::COLUMNS.len() || !shown.contains(&list.sort) {
        title.push_str(&format!(
            " · sorted by {}{arrow}",
            R::COLUMNS[list.sort.min(R::COLUMNS.len() - 1)]
        ));
    }
    let block = Block::bordered()
        .title(format!(" {title} "))
        .border_style(theme.dim());
    if visible.is_empty() {
        let text = if list.updated.is_none() {
            "waiting for the broker's answer…".to_string()
        } else if list.filter.is_empty() {
            empty.to_string()
        } else {
            format!("no row matches \"{}\" (Esc clears the filter)", list.filter)
        };
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [head, rest] =
            ratatui::layout::Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        frame.render_widget(Table::new(Vec::<TableRow>::new(), widths).header(header), head);
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), theme.dim())),
            rest,
        );
        return;
    }
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selected())
        .highlight_symbol("")
        .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(list.selected()));
    frame.render_stateful_widget(table, area, &mut state);
}

/// "3 of 5" with "(first N)" when the broker sent only a page.
fn counts<R: Row>(what: &str, list: &ListState<R>) -> String {
    let shown = list.visible().len();
    let received = list.rows().len();
    let mut text = format!("{what} {shown}");
    if shown != received || received != list.total {
        text.push_str(&format!(" of {}", list.total.max(received)));
    }
    text
}

const CLIENT_COLUMNS: [Column; 12] = [
    Column {
        width: 16,
        priority: 0,
    }, // Client ID
    Column {
        width: 10,
        priority: 5,
    }, // User
    Column {
        width: 21,
        priority: 6,
    }, // Address
    Column {
        width: 5,
        priority: 5,
    }, // Ver
    Column {
        width: 9,
        priority: 3,
    }, // Connected
    Column {
        width: 4,
        priority: 8,
    }, // KA
    Column {
        width: 5,
        priority: 4,
    }, // Subs
    Column {
        width: 5,
        priority: 7,
    }, // Inflight
    Column {
        width: 6,
        priority: 2,
    }, // Queue
    Column {
        width: 8,
        priority: 1,
    }, // Msgs in
    Column {
        width: 8,
        priority: 1,
    }, // Msgs out
    Column {
        width: 6,
        priority: 2,
    }, // Drops
];

/// The Clients view.
pub fn clients(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if let Some(lines) = unavailable(app, "the client list") {
        return draw_unavailable(frame, area, lines, "Clients", theme);
    }
    let now_ms = app.wall_ms;
    let cells = |c: &ClientRow| {
        vec![
            c.client_id.clone(),
            c.user_name.clone().unwrap_or_else(|| "–".into()),
            c.address.clone(),
            c.protocol_version.clone(),
            duration(now_ms.saturating_sub(c.connected_since_ms) / 1000),
            if c.keep_alive == 0 {
                "–".into()
            } else {
                c.keep_alive.to_string()
            },
            count(c.subscriptions as f64),
            count(c.inflight as f64),
            count(c.queued as f64),
            count(c.messages_in as f64),
            count(c.messages_out as f64),
            count(c.dropped as f64),
        ]
    };
    draw_list(
        frame,
        area,
        &app.clients,
        &CLIENT_COLUMNS,
        16,
        counts("Clients", &app.clients),
        cells,
        "no client is connected",
        theme,
    );
}

const TOPIC_COLUMNS: [Column; 5] = [
    Column {
        width: 20,
        priority: 0,
    }, // Topic
    Column {
        width: 8,
        priority: 1,
    }, // Msgs/s
    Column {
        width: 11,
        priority: 2,
    }, // Bytes/s
    Column {
        width: 8,
        priority: 3,
    }, // Msgs
    Column {
        width: 10,
        priority: 4,
    }, // Bytes
];

fn topic_cells(t: &TopicRow) -> Vec<String> {
    vec![
        t.topic.clone(),
        count(t.messages_per_second),
        bytes(t.bytes_per_second),
        count(t.messages as f64),
        bytes(t.bytes as f64),
    ]
}

fn topics_title(app: &App, what: &str) -> String {
    let mut title = counts(what, &app.topics);
    if let Some(w) = &app.topic_window {
        title.push_str(&format!(" · last {:.0}s", w.window_seconds));
        if w.sampling > 1 {
            title.push_str(&format!(" · sampled 1 in {}", w.sampling));
        }
    }
    title
}

/// The Topics view.
pub fn topics(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if let Some(lines) = unavailable(app, "topic rates") {
        return draw_unavailable(frame, area, lines, "Topics", theme);
    }
    draw_list(
        frame,
        area,
        &app.topics,
        &TOPIC_COLUMNS,
        20,
        topics_title(app, "Busiest topics"),
        topic_cells,
        "no message was published in the last seconds",
        theme,
    );
}

/// The Overview's side box: the busiest topics, two columns.
pub fn busiest_topics(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    draw_list(
        frame,
        area,
        &app.topics,
        &TOPIC_COLUMNS[..3],
        16,
        topics_title(app, "Busiest topics"),
        topic_cells,
        "no message was published in the last seconds",
        theme,
    );
}

const SESSION_COLUMNS: [Column; 7] = [
    Column {
        width: 16,
        priority: 0,
    }, // Client ID
    Column {
        width: 8,
        priority: 1,
    }, // Queued
    Column {
        width: 8,
        priority: 3,
    }, // Inflight
    Column {
        width: 5,
        priority: 4,
    }, // Subs
    Column {
        width: 11,
        priority: 2,
    }, // Offline for
    Column {
        width: 10,
        priority: 1,
    }, // Expires in
    Column {
        width: 6,
        priority: 5,
    }, // Drops
];

/// The Sessions view.
pub fn sessions(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if let Some(lines) = unavailable(app, "offline sessions") {
        return draw_unavailable(frame, area, lines, "Sessions", theme);
    }
    let now_ms = app.wall_ms;
    let cells = |s: &SessionRow| {
        vec![
            s.client_id.clone(),
            count(s.queued as f64),
            count(s.inflight as f64),
            count(s.subscriptions as f64),
            s.offline_since_ms
                .map_or("–".into(), |t| duration(now_ms.saturating_sub(t) / 1000)),
            s.expires_at_ms.map_or("never".into(), |t| {
                if t <= now_ms {
                    "now".into()
                } else {
                    duration((t - now_ms).div_ceil(1000))
                }
            }),
            count(s.dropped as f64),
        ]
    };
    draw_list(
        frame,
        area,
        &app.sessions,
        &SESSION_COLUMNS,
        16,
        format!("{} · d delete", counts("Offline sessions", &app.sessions)),
        cells,
        "no persistent session is waiting for its client",
        theme,
    );
}

const SUBSCRIPTION_COLUMNS: [Column; 5] = [
    Column {
        width: 24,
        priority: 0,
    }, // Filter
    Column {
        width: 20,
        priority: 1,
    }, // Client ID
    Column {
        width: 7,
        priority: 2,
    }, // State
    Column {
        width: 3,
        priority: 3,
    }, // QoS
    Column {
        width: 6,
        priority: 4,
    }, // Sub id
];

/// The Subscriptions view: each filter and the clients subscribed to it.
pub fn subscriptions(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if let Some(lines) = unavailable(app, "subscriptions") {
        return draw_unavailable(frame, area, lines, "Subscriptions", theme);
    }
    let by_filter = app.subscriptions.sort == 0;
    // Rows are drawn in order: sorted by filter, a filter is named once, above its clients.
    let previous: std::cell::RefCell<Option<String>> = Default::default();
    let cells = |s: &SubscriberRow| {
        let first_of_filter = !by_filter || previous.borrow().as_deref() != Some(&s.filter);
        previous.replace(Some(s.filter.clone()));
        vec![
            if first_of_filter {
                s.filter.clone()
            } else {
                "  ·".to_string()
            },
            s.client_id.clone(),
            if s.connected { "online" } else { "offline" }.to_string(),
            s.qos.to_string(),
            s.subscription_id.map_or("–".into(), |id| id.to_string()),
        ]
    };
    draw_list(
        frame,
        area,
        &app.subscriptions,
        &SUBSCRIPTION_COLUMNS,
        24,
        counts("Subscriptions", &app.subscriptions),
        cells,
        "no client has a subscription",
        theme,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_tables_drop_the_least_useful_columns_first() {
        let all = fit(&CLIENT_COLUMNS, 200, 16);
        assert_eq!(all, (0..12).collect::<Vec<_>>());
        let narrow = fit(&CLIENT_COLUMNS, 78, 16);
        assert!(
            narrow.contains(&0) && narrow.contains(&9) && narrow.contains(&10),
            "{narrow:?}"
        );
        assert!(!narrow.contains(&5), "keep alive goes first: {narrow:?}");
        let used: u16 = narrow.iter().skip(1).map(|&i| CLIENT_COLUMNS[i].width + 1).sum();
        assert!(16 + used <= 78);
        assert_eq!(fit(&CLIENT_COLUMNS, 10, 16), vec![0]);
    }
}
