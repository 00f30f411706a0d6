//! The Store view: the data file, whether its disk is full, commit and fsync rates, commit
//! latency and how full the bounded message store is.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};
use ratatui::Frame;

use super::format::{bytes, count, or_dash, seconds};
use super::{draw_unavailable, unavailable, Theme};
use crate::tui::app::App;
use crate::tui::figures::name;

/// Draws the Store view.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if let Some(mut lines) = unavailable(app, "store details") {
        if let Some(stored) = app.figures.value(name::STORED) {
            lines.push(Line::from(""));
            lines.push(Line::from(format!(
                "From $SYS: {stored} messages stored (retained and queued)."
            )));
        }
        return draw_unavailable(frame, area, lines, "Store", theme);
    }
    let Some(s) = &app.store else {
        let block = Block::bordered().title(" Store ").border_style(theme.dim());
        frame.render_widget(
            Paragraph::new(Span::styled(" waiting for the broker's answer…", theme.dim())).block(block),
            area,
        );
        return;
    };
    let f = &app.figures;
    let now = app.now;
    let per_second = |key: &str| or_dash(f.rate(key, now), |r| format!("{}/s", count(r)));
    let row = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!(" {label:<16}"), theme.label()),
            Span::styled(value, theme.value()),
        ])
    };
    let durability = match (s.durable, s.durability.as_str()) {
        (false, _) => "none: nothing is stored (in-memory broker)".to_string(),
        (true, "immediate") => "immediate: each acknowledgement waits for its fsync".to_string(),
        (true, "periodic") => "periodic: fsync on a timer; a crash loses the last interval".to_string(),
        (true, other) => other.to_string(),
    };
    let latency = &s.commit_latency;
    let latency_text = match latency.mean() {
        None => "–".to_string(),
        Some(mean) => format!(
            "mean {} · p50 ≤ {} · p99 ≤ {} ({} commits)",
            seconds(mean),
            or_dash(latency.quantile_bound(0.5), seconds),
            or_dash(latency.quantile_bound(0.99), seconds),
            count(latency.count as f64)
        ),
    };
    let disk = if s.full {
        Line::from(vec![
            Span::styled(format!(" {:<16}", "Disk"), theme.label()),
            Span::styled("FULL: new messages refused; free disk space", theme.bad()),
        ])
    } else {
        row("Disk", "room to store".to_string())
    };
    let lines = vec![
        row("Durability", durability),
        disk,
        row("Store errors", count(s.errors as f64)),
        row("Data file", s.file.clone().unwrap_or_else(|| "–".into())),
        row("File size", or_dash(s.file_bytes, |b| bytes(b as f64))),
        row(
            "Commits",
            format!(
                "{} · {}",
                count(s.commits as f64),
                // The chart's newest sample, so that the two agree.
                or_dash(app.history.commits.latest(), |r| {
                    super::chart::Unit::Commits.short(r)
                })
            ),
        ),
        row(
            "Fsyncs",
            format!("{} · {}", count(s.fsyncs as f64), per_second(name::STORE_FSYNCS)),
        ),
        row("Last commit", seconds(s.last_commit_us as f64 / 1e6)),
        row("Commit latency", latency_text),
        row("Queued messages", count(s.queued_messages as f64)),
        row(
            "Queued bytes",
            format!(
                "{} of {}",
                bytes(s.store_bytes as f64),
                bytes(s.max_store_bytes as f64)
            ),
        ),
    ];
    let [facts, gauge, chart] = Layout::vertical([
        Constraint::Length(lines.len() as u16 + 2),
        Constraint::Length(3),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Store ").border_style(theme.dim())),
        facts,
    );
    let ratio = if s.max_store_bytes > 0 {
        (s.store_bytes as f64 / s.max_store_bytes as f64).clamp(0.0, 1.0)
    } else {
        0.0
    };
    frame.render_widget(
        Gauge::default()
            .block(
                Block::bordered()
                    .title(" Message store used ")
                    .border_style(theme.dim()),
            )
            .gauge_style(theme.chart())
            .ratio(ratio)
            .label(format!("{:.1}%", ratio * 100.0)),
        gauge,
    );
    if chart.height >= 3 {
        super::chart::draw(
            frame,
            chart,
            "Commits",
            &app.history.commits,
            super::chart::Unit::Commits,
            theme.chart(),
            theme,
        );
    }
}
