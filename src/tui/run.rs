//! `top`'s main loop: draws the app, feeds it key presses (read on their own thread) and the
//! collector's updates (from its own task), and ticks once a second.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossterm::event::{self, Event, KeyEvent};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio::time::{interval, MissedTickBehavior};

use super::app::App;
use super::collector;
use super::terminal::Screen;
use super::ui::{self, Theme};

/// What the input thread reports.
enum Input {
    Key(KeyEvent),
    Resize,
    Failed(io::Error),
}

/// Unix time in milliseconds.
fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs the dashboard until the user quits. The terminal is restored however this ends.
pub async fn run(options: collector::Options, target: String, theme: Theme) -> io::Result<()> {
    let mut screen = Screen::enter()?;
    let (updates_tx, mut updates) = unbounded_channel();
    let (actions, actions_rx) = unbounded_channel();
    let collector = tokio::spawn(collector::run(options, updates_tx, actions_rx));
    let (input_tx, mut inputs) = unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let input_thread = {
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("top-input".into())
            .spawn(move || read_input(input_tx, &stop))?
    };
    let mut app = App::new(target, Instant::now(), wall_ms());
    let mut ticker = interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let result = loop {
        if let Err(e) = screen.terminal.draw(|frame| ui::draw(frame, &app, theme)) {
            break Err(e);
        }
        tokio::select! {
            Some(update) = updates.recv() => {
                app.apply(update, Instant::now());
                // Take everything already queued before drawing again: a $SYS burst is one frame.
                while let Ok(update) = updates.try_recv() {
                    app.apply(update, Instant::now());
                }
            }
            input = inputs.recv() => match input {
                Some(Input::Key(key)) => {
                    if let Some(action) = app.handle_key(key) {
                        let _ = actions.send(action);
                    }
                }
                Some(Input::Resize) => {
                    if let Err(e) = screen.terminal.autoresize() {
                        break Err(e);
                    }
                }
                Some(Input::Failed(e)) => break Err(e),
                None => break Ok(()),
            },
            _ = ticker.tick() => app.tick(Instant::now(), wall_ms()),
        }
        if app.quit {
            break Ok(());
        }
    };
    stop.store(true, Ordering::Relaxed);
    // Closing the action channel tells the collector to disconnect cleanly.
    drop(actions);
    let _ = tokio::time::timeout(Duration::from_secs(2), collector).await;
    drop(screen);
    let _ = input_thread.join();
    result
}

/// Reads terminal events until `stop`, polling so that it notices `stop` within 100 ms.
fn read_input(tx: UnboundedSender<Input>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let input = match event::poll(Duration::from_millis(100)) {
            Ok(false) => continue,
            Ok(true) => match event::read() {
                Ok(Event::Key(key)) => Input::Key(key),
                Ok(Event::Resize(..)) => Input::Resize,
                Ok(_) => continue,
                Err(e) => Input::Failed(e),
            },
            Err(e) => Input::Failed(e),
        };
        let failed = matches!(input, Input::Failed(_));
        if tx.send(input).is_err() || failed {
            return;
        }
    }
}
