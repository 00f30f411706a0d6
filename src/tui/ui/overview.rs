//! The Overview: message, byte and connection charts, and (given room and robustmq) the
//! busiest topics.

use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, RenderDirection, Sparkline, Wrap};
use ratatui::Frame;

use super::format::{bytes, count};
use super::{tables, Theme};
use crate::tui::app::{Access, App, Link, Series};

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
    chart(
        frame,
        top[0],
        "Msgs in",
        &h.messages_in,
        |v| format!("{}/s", count(v)),
        theme.incoming(),
        theme,
    );
    chart(
        frame,
        top[1],
        "Msgs out",
        &h.messages_out,
        |v| format!("{}/s", count(v)),
        theme.outgoing(),
        theme,
    );
    let middle = halves(rows[1]);
    chart(
        frame,
        middle[0],
        "Bytes in",
        &h.bytes_in,
        |v| format!("{}/s", bytes(v)),
        theme.incoming(),
        theme,
    );
    chart(
        frame,
        middle[1],
        "Bytes out",
        &h.bytes_out,
        |v| format!("{}/s", bytes(v)),
        theme.outgoing(),
        theme,
    );
    let bottom = halves(rows[2]);
    chart(
        frame,
        bottom[0],
        "Connections",
        &h.connections,
        count,
        theme.chart(),
        theme,
    );
    chart(
        frame,
        bottom[1],
        "Store commits",
        &h.commits,
        |v| format!("{}/s", count(v)),
        theme.chart(),
        theme,
    );
    if let Some(side) = side {
        tables::busiest_topics(frame, side, app, theme);
    }
}

/// One sparkline in a box titled with the latest value and the peak of what is shown.
fn chart(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    series: &Series,
    show: impl Fn(f64) -> String,
    style: Style,
    theme: Theme,
) {
    let width = area.width.saturating_sub(2) as usize;
    let mut data = series.last(width);
    let title = match (data.last(), data.iter().max()) {
        (Some(now), Some(peak)) => format!(" {title} {} · peak {} ", show(*now as f64), show(*peak as f64)),
        _ => format!(" {title} – "),
    };
    let block = Block::bordered().title(title).border_style(theme.dim());
    // Newest on the right, like every other monitor: drawn right to left, newest first.
    data.reverse();
    frame.render_widget(
        Sparkline::default()
            .block(block)
            .data(&data)
            .direction(RenderDirection::RightToLeft)
            .style(style),
        area,
    );
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
