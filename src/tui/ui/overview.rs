//! The Overview: message, byte, connection and commit charts with their axes, and (given room
//! and robustmq) the busiest topics.

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::chart::{self, Unit};
use super::{tables, Theme};
use crate::tui::app::{Access, App, Link};

/// After this long connected, figures still missing are figures the broker does not publish
/// (Mosquitto publishes `$SYS` every 10 s by default).
const GRACE: Duration = Duration::from_secs(12);

/// Draws the Overview.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let missing = missing_note(app);
    let note_height = missing.as_ref().map_or(0, |text| {
        let width = area.width.max(1) as usize;
        (text.chars().count().div_ceil(width) as u16 + 1).min(4)
    });
    let [main, note] = Layout::vertical([Constraint::Fill(1), Constraint::Length(note_height)]).areas(area);
    if let Some(text) = missing {
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.dim())).wrap(Wrap { trim: true }),
            note,
        );
    }
    let wide = main.width >= 120 && app.access == Access::Granted;
    let (charts, side) = if wide {
        let [c, s] = Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(main);
        (c, Some(s))
    } else {
        (main, None)
    };
    let rows = Layout::vertical([Constraint::Ratio(1, 3); 3]).split(charts);
    let h = &app.history;
    let halves = |area: Rect| Layout::horizontal([Constraint::Ratio(1, 2); 2]).split(area);
    let top = halves(rows[0]);
    chart::draw(
        frame,
        top[0],
        "Msgs in",
        &h.messages_in,
        Unit::Messages,
        theme.incoming(),
        theme,
    );
    chart::draw(
        frame,
        top[1],
        "Msgs out",
        &h.messages_out,
        Unit::Messages,
        theme.outgoing(),
        theme,
    );
    let middle = halves(rows[1]);
    chart::draw(
        frame,
        middle[0],
        "Bytes in",
        &h.bytes_in,
        Unit::Bytes,
        theme.incoming(),
        theme,
    );
    chart::draw(
        frame,
        middle[1],
        "Bytes out",
        &h.bytes_out,
        Unit::Bytes,
        theme.outgoing(),
        theme,
    );
    let bottom = halves(rows[2]);
    chart::draw(
        frame,
        bottom[0],
        "Connections",
        &h.connections,
        Unit::Clients,
        theme.chart(),
        theme,
    );
    chart::draw(
        frame,
        bottom[1],
        "Store commits",
        &h.commits,
        Unit::Commits,
        theme.chart(),
        theme,
    );
    if let Some(side) = side {
        tables::busiest_topics(frame, side, app, theme);
    }
}

/// Names the header figures the broker has not published, once it had time to.
fn missing_note(app: &App) -> Option<String> {
    let Link::Connected { since } = app.link else {
        return None;
    };
    if app.now.saturating_duration_since(since) < GRACE {
        return None;
    }
    let missing = app.missing_figures();
    (!missing.is_empty()).then(|| format!(" Not published by this broker: {}", missing.join(", ")))
}
