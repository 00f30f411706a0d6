//! The `tui` test binary: `robustmq top` drawn on ratatui's TestBackend, and the real binary
//! in tmux against a live broker.

#[path = "tui/main.rs"]
mod tui;
