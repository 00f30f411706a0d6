//! Drawing only: turns an [`App`] into a frame. Reads the state, never changes it.
//!
//! Layout, top to bottom: a title bar (broker, version, uptime, connection), three lines of
//! broker-wide figures, the view tabs, the view, and a footer for keys, prompts and messages.
//! Everything fits 80x24 and uses the extra room of bigger terminals.

mod bridges;
pub mod chart;
mod detail;
pub mod format;
mod overview;
mod retained;
mod store;
mod tables;
pub mod theme;

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Tabs, Wrap};
use ratatui::Frame;

use super::app::{Access, App, Link, Mode, View, QUEUED};
use super::figures::name;
use format::{count, duration, or_dash};
pub use theme::Theme;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: Theme) {
    let [title, header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_title(frame, title, app, theme);
    draw_header(frame, header, app, theme);
    draw_tabs(frame, tabs, app, theme);
    match app.view {
        View::Overview => overview::draw(frame, body, app, theme),
        View::Clients => match &app.detail {
            Some(d) if unavailable(app, "the client's detail").is_none() => {
                detail::draw(frame, body, app, d, theme)
            }
            _ => tables::clients(frame, body, app, theme),
        },
        View::Topics => tables::topics(frame, body, app, theme),
        View::Sessions => tables::sessions(frame, body, app, theme),
        View::Store => store::draw(frame, body, app, theme),
        View::Bridges => bridges::draw(frame, body, app, theme),
        View::Subscriptions => tables::subscriptions(frame, body, app, theme),
        View::Retained => retained::draw(frame, body, app, theme),
    }
    draw_footer(frame, footer, app, theme);
    if app.help {
        draw_help(frame, app, theme);
    }
}

fn draw_title(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (link, link_style) = match &app.link {
        Link::Connected { .. } => ("● connected".to_string(), theme.good()),
        Link::Connecting { attempt: 1 } => ("○ connecting…".to_string(), theme.warn()),
        Link::Connecting { attempt } => (format!("○ reconnecting (attempt {attempt})…"), theme.warn()),
        Link::Down { .. } => ("✕ disconnected".to_string(), theme.bad()),
    };
    let mut spans = vec![
        Span::raw(" robustmq top │ "),
        Span::raw(app.target.clone()),
        Span::raw(" │ "),
        Span::styled(link, link_style),
    ];
    if app.paused {
        spans.push(Span::raw(" │ "));
        spans.push(Span::styled("PAUSED", theme.warn()));
    }
    if app.figures.value(name::STORE_FULL) == Some(1) {
        // Whatever view is open: new messages are being refused until someone frees space.
        spans.push(Span::raw(" │ "));
        spans.push(Span::styled("DISK FULL", theme.bad()));
    }
    if let Some(uptime) = app.figures.value(name::UPTIME) {
        spans.push(Span::raw(format!(" │ up {}", duration(uptime))));
    }
    if let Some(version) = app.version() {
        spans.push(Span::raw(format!(" │ {version}")));
    }
    let width: usize = spans.iter().map(|s| s.width()).sum();
    if width > area.width as usize {
        // The program's name is the first thing to give up in a narrow terminal.
        spans[0] = Span::raw(" ");
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.title()), area);
}

/// `label value` pairs on one line.
pub(crate) fn pairs(items: &[(&str, String)], theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, (label, value)) in items.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(format!("{label} "), theme.label()));
        spans.push(Span::styled(value.clone(), theme.value()));
    }
    Line::from(spans)
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let f = &app.figures;
    let now = app.now;
    let n = |key: &str| or_dash(f.value(key), |v| count(v as f64));
    let rate = |r: Option<f64>| or_dash(r, |v| chart::Unit::Messages.short(v));
    let byte_rate = |r: Option<f64>| or_dash(r, |v| chart::Unit::Bytes.short(v));
    let [left, right] = Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).areas(area);
    let left_lines = vec![
        Line::from(vec![
            Span::styled("Clients ", theme.label()),
            Span::styled(n(name::CLIENTS_CONNECTED), theme.value()),
            Span::styled(" of ", theme.label()),
            Span::styled(n(name::CLIENTS_TOTAL), theme.value()),
            Span::styled(" · max ", theme.label()),
            Span::styled(n(name::CLIENTS_MAXIMUM), theme.value()),
        ]),
        pairs(
            &[
                ("Subscriptions", n(name::SUBSCRIPTIONS)),
                ("Retained", n(name::RETAINED)),
            ],
            theme,
        ),
        pairs(&[("Stored", n(name::STORED)), ("Queued", n(QUEUED))], theme),
    ];
    let dropped_rate = f
        .rate(name::PUBLISH_DROPPED, now)
        .filter(|r| *r > 0.0)
        .map(|r| format!(" (+{}/s)", count(r)))
        .unwrap_or_default();
    // The charts' newest samples, so that the header and the charts agree.
    let h = &app.history;
    let right_lines = vec![
        pairs(
            &[
                ("Msgs in", rate(h.messages_in.latest())),
                ("out", rate(h.messages_out.latest())),
            ],
            theme,
        ),
        pairs(
            &[
                ("Bytes in", byte_rate(h.bytes_in.latest())),
                ("out", byte_rate(h.bytes_out.latest())),
            ],
            theme,
        ),
        pairs(
            &[("Dropped", format!("{}{dropped_rate}", n(name::PUBLISH_DROPPED)))],
            theme,
        ),
    ];
    frame.render_widget(
        Paragraph::new(left_lines),
        left.inner(ratatui::layout::Margin::new(1, 0)),
    );
    frame.render_widget(Paragraph::new(right_lines), right);
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let titles: Vec<String> = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{} {}", i + 1, v.title()))
        .collect();
    // Every tab must show: in a narrow terminal they lose their padding, then the help hint.
    let bare: usize = titles.iter().map(|t| t.chars().count() + 1).sum();
    let padded = bare + 2 * titles.len();
    let width = area.width as usize;
    let (padding, hint_width) = if padded + 8 <= width {
        (" ", 8)
    } else if bare + 8 <= width {
        ("", 8)
    } else {
        ("", 0)
    };
    let [tabs, hint] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(hint_width)]).areas(area);
    frame.render_widget(
        Tabs::new(titles)
            .select(app.view.index())
            .highlight_style(theme.selected())
            .padding(padding, padding)
            .divider("│"),
        tabs,
    );
    frame.render_widget(
        Paragraph::new(Span::styled("? help ", theme.dim())).right_aligned(),
        hint,
    );
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let line = match &app.mode {
        Mode::Filter(text) => Line::from(vec![
            Span::styled(" Filter: ", theme.warn()),
            Span::raw(format!("{text}▏")),
            Span::styled("   Enter keep · Esc clear", theme.dim()),
        ]),
        Mode::Confirm(what) => Line::from(vec![
            Span::styled(format!(" {} ", what.question()), theme.warn()),
            Span::raw("y/n"),
        ]),
        Mode::Normal => {
            if let Some((text, _)) = &app.status {
                Line::from(Span::styled(format!(" {text}"), theme.warn()))
            } else if let Link::Down { error, retry_at } = &app.link {
                let secs = retry_at.saturating_duration_since(app.now).as_secs_f64().ceil();
                Line::from(Span::styled(
                    format!(" broker unreachable: {error}; retrying in {secs:.0}s"),
                    theme.bad(),
                ))
            } else {
                // The keys of the view at hand after the common ones; `?` lists them all.
                let view_keys = match app.view {
                    View::Clients if app.detail.is_some() => "  Esc back  k disconnect",
                    View::Clients => "  Enter detail  k disconnect",
                    View::Sessions | View::Retained => "  d delete",
                    _ => "",
                };
                Line::from(Span::styled(
                    format!(" q quit  ? help  Tab view  ↑/↓ move  / filter{view_keys}"),
                    theme.dim(),
                ))
            }
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// Why a detail view is empty, if it cannot be filled; `None` when it can.
pub(crate) fn unavailable(app: &App, what: &str) -> Option<Vec<Line<'static>>> {
    let lines = match &app.access {
        Access::Granted => return None,
        Access::Unknown => match app.link {
            Link::Connected { .. } => vec![Line::from(format!(
                "Waiting for the broker to say what it is ($SYS/broker/version) before asking for {what}…"
            ))],
            _ => vec![Line::from(format!(
                "Not connected: {what} will show once the broker is reachable."
            ))],
        },
        Access::NotOffered(version) => vec![
            Line::from(format!("{what}: not available from this broker.")),
            Line::from(""),
            Line::from(format!(
                "{version} publishes the standard $SYS topics only; the figures above and the"
            )),
            Line::from("Overview charts come from those. Clients, topics, sessions, subscriptions,"),
            Line::from("retained messages and store details need robustmq's admin API"),
            Line::from("($CONTROL/robustmq/v1/...)."),
        ],
        Access::Refused(message) => vec![
            Line::from(format!(
                "{what}: the broker refused the admin request: {message}."
            )),
            Line::from(""),
            Line::from("robustmq answers admin requests from loopback clients, or from users the"),
            Line::from("ACL allows to publish to $CONTROL/robustmq/v1/#."),
        ],
    };
    Some(lines)
}

/// Draws an explanation in place of a view.
pub(crate) fn draw_unavailable(
    frame: &mut Frame,
    area: Rect,
    lines: Vec<Line<'static>>,
    title: &str,
    theme: Theme,
) {
    let block = Block::bordered()
        .title(format!(" {title} "))
        .border_style(theme.dim());
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block),
        area,
    );
}

fn draw_help(frame: &mut Frame, app: &App, theme: Theme) {
    let keys: [(&str, &str); 16] = [
        ("q, Ctrl-C", "quit"),
        ("?", "this help (any key closes it)"),
        ("Tab, Shift-Tab, ←/→", "next / previous view"),
        (
            "1 … 8",
            "Overview, Clients, Topics, Sessions, Store, Bridges, Subs, Retained",
        ),
        ("↑/↓, j", "move the selection"),
        ("Enter, Esc", "open / close the selected client's detail"),
        ("PgUp/PgDn, g/G", "page, first, last"),
        ("s", "sort by the next column"),
        ("S, r", "reverse the sort"),
        ("/", "filter rows (Enter keeps, Esc clears)"),
        ("Esc", "clear the filter"),
        ("p, Space", "pause / resume updates"),
        ("k, x, Del", "disconnect the selected client (asks y/n)"),
        (
            "d, Del",
            "delete the selected retained message or offline session (y/n)",
        ),
        ("", ""),
        ("", "figures: $SYS; details: robustmq admin API"),
    ];
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>20}  "), theme.value()),
                Span::raw(what.to_string()),
            ])
        })
        .collect();
    lines.insert(0, Line::from(""));
    let missing = app.missing_figures();
    if !missing.is_empty() && matches!(app.link, Link::Connected { .. }) {
        lines.push(Line::from(Span::styled(
            format!("  not (yet) published by this broker: {}", missing.join(", ")),
            theme.dim(),
        )));
    }
    let area = frame.area();
    let width = area.width.min(72);
    let height = (lines.len() as u16 + 2).min(area.height);
    let [popup] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Keys ").border_style(theme.value())),
        popup,
    );
}
