//! A time chart of one series: a bar a second, a value axis in the series' unit and, given
//! room, a time axis in seconds; titled with the newest sample (the figure the header shows)
//! and the peak of what is drawn.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType};
use ratatui::Frame;

use super::format::{bytes, count};
use super::Theme;
use crate::tui::app::{Series, HISTORY};

/// How a series' values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Messages per second.
    Messages,
    /// Bytes per second.
    Bytes,
    /// Connected clients.
    Clients,
    /// Store commits per second.
    Commits,
}

impl Unit {
    /// The value as the title and the header show it: `200/s`, `20 KiB/s`, `3`.
    pub fn short(self, v: f64) -> String {
        match self {
            Unit::Messages | Unit::Commits => format!("{}/s", count(v)),
            Unit::Bytes => format!("{}/s", bytes(v)),
            Unit::Clients => count(v),
        }
    }

    /// The value with its unit, for the value axis: `200 msg/s`, `20 KiB/s`, `3 clients`.
    pub fn long(self, v: f64) -> String {
        match self {
            Unit::Messages => format!("{} msg/s", count(v)),
            Unit::Bytes => format!("{}/s", bytes(v)),
            Unit::Clients if v == 1.0 => "1 client".to_string(),
            Unit::Clients => format!("{} clients", count(v)),
            Unit::Commits => format!("{} commits/s", count(v)),
        }
    }
}

/// The time axis takes two rows (its line and its labels): only charts at least this tall
/// inside their box get one, the bars keeping the rest.
const TIME_AXIS_FROM: u16 = 6;

/// Draws `series` in `area` under `title`.
pub fn draw(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    series: &Series,
    unit: Unit,
    style: Style,
    theme: Theme,
) {
    // One bar a cell: as many samples as the plot, right of the value axis, is wide. The
    // axis labels' width depends on the peak, which depends on the samples: the widest label
    // of the whole history sizes it.
    let all_peak = series.last(HISTORY).iter().flatten().copied().fold(0.0, f64::max);
    let label_width = unit.long(0.0).len().max(unit.long(all_peak).len()) + 1;
    let plot_width = (area.width as usize).saturating_sub(2 + label_width).max(2);
    let samples = series.last(plot_width);
    let peak = samples.iter().flatten().copied().fold(0.0, f64::max);
    let title = match series.latest() {
        Some(now) if !samples.is_empty() => {
            format!(" {title} {} · peak {} ", unit.short(now), unit.short(peak))
        }
        _ => format!(" {title} – "),
    };
    let block = Block::bordered().title(title).border_style(theme.dim());
    let inner_height = area.height.saturating_sub(2);
    // The axis spans the plot's width whatever the samples so far: bars fill it from the right.
    let span = plot_width as f64 - 1.0;
    // Newest on the right, at 0 seconds; older samples to the left; no bar for nothing.
    let newest = samples.len() as f64 - 1.0;
    let points: Vec<(f64, f64)> = samples
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| *v > 0.0).map(|v| (i as f64 - newest, v)))
        .collect();
    let top = if peak > 0.0 { peak } else { 1.0 };
    let mut x_axis = Axis::default().bounds([-span, 0.0]).style(theme.dim());
    if inner_height >= TIME_AXIS_FROM {
        x_axis = x_axis.labels([Line::from(format!("-{span:.0}s")), Line::from("now")]);
    }
    let y_axis = Axis::default()
        .bounds([0.0, top])
        .labels([Line::from(unit.long(0.0)), Line::from(unit.long(top))])
        .style(theme.dim());
    let dataset = Dataset::default()
        .marker(Marker::HalfBlock)
        .graph_type(GraphType::Bar)
        .style(style)
        .data(&points);
    frame.render_widget(
        Chart::new(vec![dataset])
            .block(block)
            .x_axis(x_axis)
            .y_axis(y_axis),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_as_the_header_and_the_axis_need() {
        assert_eq!(Unit::Messages.short(0.4), "0.4/s");
        assert_eq!(Unit::Messages.long(1500.0), "1.5k msg/s");
        assert_eq!(Unit::Bytes.short(20_480.0), "20 KiB/s");
        assert_eq!(Unit::Bytes.long(512.0), "512 B/s");
        assert_eq!(Unit::Clients.short(3.0), "3");
        assert_eq!(Unit::Clients.long(3.0), "3 clients");
        assert_eq!(Unit::Clients.long(1.0), "1 client");
        assert_eq!(Unit::Commits.long(12.0), "12 commits/s");
    }
}
