//! The Bridges view: each bridge's remote, whether its link is up (or why not), and what it
//! has queued, sent, received and dropped.

use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::format::count;
use super::{draw_unavailable, unavailable, Theme};
use crate::tui::app::App;

/// Draws the Bridges view.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if let Some(lines) = unavailable(app, "bridges") {
        return draw_unavailable(frame, area, lines, "Bridges", theme);
    }
    let block = Block::bordered().title(" Bridges ").border_style(theme.dim());
    let bridges = match &app.bridges {
        None => {
            let waiting = Span::styled(" waiting for the broker's answer…", theme.dim());
            return frame.render_widget(Paragraph::new(waiting).block(block), area);
        }
        Some(list) if list.bridges.is_empty() => {
            let none = vec![
                Line::from(Span::styled(" no bridge is configured", theme.dim())),
                Line::from(""),
                Line::from(" A [[bridges]] table in robustmq.toml forwards messages to another broker;"),
                Line::from(" see `man robustmq.toml` or the README, \"More than one machine\"."),
            ];
            return frame.render_widget(Paragraph::new(none).wrap(Wrap { trim: false }).block(block), area);
        }
        Some(list) => &list.bridges,
    };
    let header =
        Row::new(["name", "remote", "state", "queued", "sent", "received", "dropped"]).style(theme.header());
    let rows = bridges.iter().map(|b| {
        let state = match (b.state.as_str(), &b.error) {
            ("connected", _) => Span::styled("connected", theme.good()),
            (_, Some(why)) => Span::styled(format!("connecting: {why}"), theme.bad()),
            (other, None) => Span::styled(other.to_string(), theme.warn()),
        };
        let dropped = Span::styled(
            count(b.dropped as f64),
            if b.dropped > 0 { theme.bad() } else { theme.value() },
        );
        Row::new(vec![
            Line::from(b.name.clone()),
            Line::from(b.remote.clone()),
            Line::from(state),
            Line::from(count(b.queued as f64)),
            Line::from(count(b.sent as f64)),
            Line::from(count(b.received as f64)),
            Line::from(dropped),
        ])
    });
    let widths = [
        Constraint::Length(12),
        Constraint::Length(28),
        Constraint::Min(12),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
    ];
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}
