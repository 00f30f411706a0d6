//! The Retained view: retained messages as a topic tree (sorted by topic, each level indented
//! under its parent), and a preview of the selected message's payload.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::format::{bytes, count};
use super::{draw_unavailable, unavailable, Theme};
use crate::admin_api::PREVIEW_BYTES;
use crate::tui::admin::RetainedRow;
use crate::tui::app::App;
use crate::tui::list::Row as _;

/// One line of the tree: a level without a message of its own, or a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLine<'a> {
    /// Levels above it.
    pub depth: usize,
    /// The text shown after the indentation.
    pub label: String,
    /// The message on this line, if any.
    pub row: Option<&'a RetainedRow>,
}

/// The tree of `rows` (sorted by topic): each level that has no message of its own gets a
/// line of its own the first time it appears, and each message shows its last level under it.
pub fn tree<'a>(rows: &[&'a RetainedRow]) -> Vec<TreeLine<'a>> {
    let mut lines = Vec::new();
    let mut open: Vec<&str> = Vec::new();
    for row in rows {
        let levels: Vec<&str> = row.topic.split('/').collect();
        let (parents, last) = levels.split_at(levels.len() - 1);
        let shared = open.iter().zip(parents).take_while(|(a, b)| a == b).count();
        open.truncate(shared);
        for (depth, level) in parents.iter().enumerate().skip(shared) {
            lines.push(TreeLine {
                depth,
                label: format!("{level}/"),
                row: None,
            });
            open.push(level);
        }
        lines.push(TreeLine {
            depth: parents.len(),
            label: last[0].to_string(),
            row: Some(row),
        });
    }
    lines
}

/// Draws the Retained view.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if let Some(lines) = unavailable(app, "retained messages") {
        return draw_unavailable(frame, area, lines, "Retained", theme);
    }
    let list = &app.retained;
    let [top, bottom] = Layout::vertical([Constraint::Fill(1), Constraint::Length(6)]).areas(area);
    let mut title = format!(" Retained {}", list.visible().len());
    if list.visible().len() != list.total {
        title.push_str(&format!(" of {}", list.total));
    }
    if !list.filter.is_empty() {
        title.push_str(&format!(" · filter \"{}\"", list.filter));
    }
    title.push_str(" · d delete ");
    let block = Block::bordered().title(title).border_style(theme.dim());
    let visible = list.visible();
    if visible.is_empty() {
        let text = if list.updated.is_none() {
            "waiting for the broker's answer…".to_string()
        } else if list.filter.is_empty() {
            "no retained message".to_string()
        } else {
            format!(
                "no retained message matches \"{}\" (Esc clears the filter)",
                list.filter
            )
        };
        frame.render_widget(
            Paragraph::new(Span::styled(format!(" {text}"), theme.dim())).block(block),
            top,
        );
        return draw_preview(frame, bottom, None, theme);
    }
    // A tree only in topic order; sorted otherwise, full topics.
    let as_tree = list.sort == 0 && !list.descending;
    let lines: Vec<TreeLine> = if as_tree {
        tree(&visible)
    } else {
        visible
            .iter()
            .map(|r| TreeLine {
                depth: 0,
                label: r.topic.clone(),
                row: Some(*r),
            })
            .collect()
    };
    let selected = list.selected_row();
    let selected_line = lines
        .iter()
        .position(|l| l.row.is_some() && l.row.map(|r| r.key()) == selected.map(|r| r.key()));
    let arrow = if list.descending { " ▼" } else { " ▲" };
    let header_cells = RetainedRow::COLUMNS.iter().enumerate().map(|(i, c)| {
        let mut text = c.to_string();
        if i == list.sort {
            text.push_str(arrow);
        }
        text
    });
    let header = Row::new(header_cells).style(theme.header());
    let rows = lines.iter().map(|l| {
        let label = format!("{}{}", "  ".repeat(l.depth), l.label);
        match l.row {
            Some(r) => Row::new([label, r.qos.to_string(), bytes(r.payload_bytes as f64)]),
            None => Row::new([label, String::new(), String::new()]).style(theme.dim()),
        }
    });
    let table = Table::new(
        rows,
        [Constraint::Fill(1), Constraint::Length(5), Constraint::Length(10)],
    )
    .header(header)
    .block(block)
    .row_highlight_style(theme.selected());
    let mut state = TableState::default().with_selected(selected_line);
    frame.render_stateful_widget(table, top, &mut state);
    draw_preview(frame, bottom, selected, theme);
}

fn draw_preview(frame: &mut Frame, area: Rect, row: Option<&RetainedRow>, theme: Theme) {
    let block = Block::bordered().title(" Payload ").border_style(theme.dim());
    let Some(r) = row else {
        return frame.render_widget(block, area);
    };
    let truncated = r.payload_bytes > PREVIEW_BYTES;
    let mut about = format!(
        "{} · QoS {} · {} bytes",
        r.topic,
        r.qos,
        count(r.payload_bytes as f64)
    );
    if r.preview_hex {
        about.push_str(" · not UTF-8, in hex");
    }
    if truncated {
        about.push_str(&format!(" · first {PREVIEW_BYTES} shown"));
    }
    let mut text = r.preview.clone();
    if truncated {
        text.push('…');
    }
    let lines = vec![
        Line::from(Span::styled(about, theme.label())),
        Line::from(Span::styled(text, theme.value())),
    ];
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(block),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(topic: &str) -> RetainedRow {
        RetainedRow {
            topic: topic.into(),
            ..Default::default()
        }
    }

    #[test]
    fn levels_without_a_message_get_a_line_once() {
        let rows = [
            row("home"),
            row("home/garage/door"),
            row("home/kitchen/temp"),
            row("home/kitchen/temp/max"),
            row("office/temp"),
        ];
        let refs: Vec<&RetainedRow> = rows.iter().collect();
        let lines = tree(&refs);
        let shown: Vec<(usize, &str, bool)> = lines
            .iter()
            .map(|l| (l.depth, l.label.as_str(), l.row.is_some()))
            .collect();
        assert_eq!(
            shown,
            [
                (0, "home", true),
                (0, "home/", false),
                (1, "garage/", false),
                (2, "door", true),
                (1, "kitchen/", false),
                (2, "temp", true),
                (2, "temp/", false),
                (3, "max", true),
                (0, "office/", false),
                (1, "temp", true),
            ]
        );
    }
}
