//! `robustmq top` tests: the screen drawn on ratatui's TestBackend for every view at 80x24
//! and 160x48, and the real binary in tmux against a live broker (and against Mosquitto).

#[path = "../support/broker_process.rs"]
mod broker_process;
mod render;
mod tmux;
#[path = "../support/wait.rs"]
mod wait;
