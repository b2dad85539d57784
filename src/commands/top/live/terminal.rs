//! The terminal: raw mode on the alternate screen for as long as the view lives, put
//! back however it ends.

use std::io;
use std::sync::Once;

use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal in raw mode on the alternate screen, with the cursor hidden, for as
/// long as it lives.
pub(super) struct Screen {
    pub(super) terminal: Terminal<CrosstermBackend<io::Stdout>>,
    // Dropped after the terminal, so that ratatui's own clean-up happens first.
    _guard: TerminalGuard,
}

impl Screen {
    pub(super) fn open() -> io::Result<Screen> {
        install_panic_hook();
        crossterm::terminal::enable_raw_mode()?;
        // From here on any failure must put the terminal back: the guard does.
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok(Screen {
            terminal,
            _guard: guard,
        })
    }
}

/// Puts the terminal back as it was when dropped: on a normal quit and on every error
/// path alike.
pub(super) struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Leaves the alternate screen, shows the cursor and ends raw mode; errors are ignored,
/// there is nothing better to do with them on the way out.
fn restore_terminal() {
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
    let _ = crossterm::terminal::disable_raw_mode();
}

/// A panic restores the terminal before the default hook prints the message, which
/// would otherwise land on the alternate screen, in raw mode, and vanish.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            default(info);
        }));
    });
}
