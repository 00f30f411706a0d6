//! One client in detail (Enter in the Clients view): who it is, its session, its will, its
//! subscriptions with their options, and what it sends and receives.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::Frame;

use super::format::{bytes, count, duration, or_dash};
use super::{pairs, Theme};
use crate::tui::app::App;
use crate::tui::detail::Detail;

/// Draws the open client detail.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, detail: &Detail, theme: Theme) {
    let block = Block::bordered()
        .title(format!(" Client {} · Esc back · k disconnect ", detail.client_id))
        .border_style(theme.dim());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(d) = &detail.data else {
        let text = match &detail.gone {
            Some(why) => Span::styled(format!(" {why}"), theme.bad()),
            None => Span::styled(" waiting for the broker's answer…", theme.dim()),
        };
        return frame.render_widget(Paragraph::new(text), inner);
    };
    let expiry = match d.session_expiry_interval {
        0 => "ends at disconnect".to_string(),
        u32::MAX => "never".to_string(),
        secs => duration(secs.into()),
    };
    let will = match &d.will {
        None => "none".to_string(),
        Some(w) => format!(
            "{} · QoS {} · {}retained · delay {} · {}",
            w.topic,
            w.qos,
            if w.retain { "" } else { "not " },
            duration(w.delay_interval.into()),
            bytes(w.payload_bytes as f64),
        ),
    };
    let rate = |r: Option<f64>| or_dash(r, |v| format!("{}/s", count(v)));
    let mut lines = vec![
        pairs(
            &[
                (
                    "User",
                    d.user_name.clone().unwrap_or_else(|| "– (anonymous)".into()),
                ),
                ("Address", d.address.clone()),
                ("Protocol", d.protocol_version.clone()),
            ],
            theme,
        ),
        pairs(
            &[
                (
                    "Keep alive",
                    if d.keep_alive == 0 {
                        "none".into()
                    } else {
                        format!("{}s", d.keep_alive)
                    },
                ),
                ("Session expiry", expiry),
                ("Clean start", if d.clean_start { "yes" } else { "no" }.into()),
                (
                    "Connected",
                    duration(app.wall_ms.saturating_sub(d.connected_since_ms) / 1000),
                ),
            ],
            theme,
        ),
        pairs(&[("Will", will)], theme),
        pairs(
            &[
                ("Inflight", count(d.inflight as f64)),
                (
                    "Queued",
                    format!("{} ({})", count(d.queued as f64), bytes(d.queued_bytes as f64)),
                ),
                ("Drops", count(d.dropped as f64)),
            ],
            theme,
        ),
        pairs(
            &[
                (
                    "Msgs in",
                    format!("{} ({})", count(d.messages_in as f64), rate(detail.rate_in)),
                ),
                (
                    "out",
                    format!("{} ({})", count(d.messages_out as f64), rate(detail.rate_out)),
                ),
                ("Bytes in", bytes(d.bytes_in as f64)),
                ("out", bytes(d.bytes_out as f64)),
            ],
            theme,
        ),
    ];
    if let Some(why) = &detail.gone {
        lines.push(Line::from(Span::styled(
            format!("as last seen: {why}"),
            theme.bad(),
        )));
    }
    let [head, subs] =
        Layout::vertical([Constraint::Length(lines.len() as u16 + 1), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), head);
    let mut title = format!(" Subscriptions {}", d.subscriptions_total);
    if d.subscriptions.len() < d.subscriptions_total {
        title.push_str(&format!(" (first {})", d.subscriptions.len()));
    }
    let header = Row::new([
        "Filter",
        "QoS",
        "No local",
        "Retain as pub.",
        "Retain handling",
        "Sub id",
    ])
    .style(theme.header());
    let rows = d.subscriptions.iter().map(|s| {
        Row::new([
            s.filter.clone(),
            s.qos.to_string(),
            yes_no(s.no_local),
            yes_no(s.retain_as_published),
            match s.retain_handling {
                0 => "send".to_string(),
                1 => "if new".to_string(),
                _ => "never".to_string(),
            },
            s.subscription_id.map_or("–".into(), |id| id.to_string()),
        ])
    });
    let widths = [
        Constraint::Fill(1),
        Constraint::Length(3),
        Constraint::Length(8),
        Constraint::Length(14),
        Constraint::Length(15),
        Constraint::Length(7),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).block(
            Block::default()
                .title(Line::styled(title, theme.label()))
                .borders(ratatui::widgets::Borders::TOP)
                .border_style(theme.dim()),
        ),
        subs,
    );
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}
