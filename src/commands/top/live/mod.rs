//! `ct top` on a terminal: the groups redrawn every `--interval`, with each group's new
//! entries a second, and keys to regroup, re-sort, filter, pause and open a group.
//!
//! The parts are kept apart so that each can be read (and tested) alone:
//! - [`App`] (`app.rs`) is everything the screen shows and the keys change; it never
//!   touches the socket or the terminal. A key that needs the kernel returns an
//!   [`Action`].
//! - [`run`] owns the socket and the terminal: it reads the table when due, carries
//!   out actions, draws, and waits for keys in between.
//! - the `draw_*` functions (`draw.rs`) turn an `App` into a frame, nothing else.
//! - [`TerminalGuard`](terminal::TerminalGuard) (`terminal.rs`) puts the terminal back
//!   however the view ends.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event;

use super::Tables;
use crate::filter::Filter;
use crate::labelmap::LabelMap;
use crate::model::group::{KeyField, SortBy};

mod app;
mod draw;
mod terminal;
#[cfg(test)]
mod tests;

use app::{Action, App};
use draw::draw;
use terminal::Screen;

/// What the command line decided for the live view.
pub struct Settings {
    pub fields: Vec<KeyField>,
    pub filter: Filter,
    /// Whether the command line gave a filter (its text is not kept; the summary says
    /// only that there is one).
    pub filtered: bool,
    pub order: SortBy,
    /// At most this many groups are listed (`-n`).
    pub limit: usize,
    pub interval: Duration,
    pub labels: Option<LabelMap>,
}

/// Draws the live view on the terminal until the user quits. Only setting the terminal
/// up can fail the command; a failed reading is shown and retried.
pub fn run(mut tables: Tables, settings: Settings) -> Result<()> {
    let mut screen = Screen::open().context("cannot set up the terminal for the live view")?;
    let mut app = App::new(settings);
    app.refresh(&mut tables);
    let mut next_reading = Instant::now() + app.interval;
    while !app.quit {
        screen.terminal.draw(|frame| draw(frame, &mut app))?;
        // Waiting on the keyboard rather than sleeping: a key is handled at once, and
        // the reading still comes on time.
        let wait = if app.paused {
            Duration::from_secs(3600)
        } else {
            next_reading.saturating_duration_since(Instant::now())
        };
        if event::poll(wait)? {
            match app.on_event(event::read()?) {
                Action::None => {}
                Action::Refresh => {
                    app.refresh(&mut tables);
                    next_reading = Instant::now() + app.interval;
                }
                Action::Open(key) => app.open(&mut tables, &key),
            }
        }
        if !app.paused && Instant::now() >= next_reading {
            app.refresh(&mut tables);
            next_reading = Instant::now() + app.interval;
        }
    }
    Ok(())
}
