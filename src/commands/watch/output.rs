//! Standard output of `ct watch`: events are gathered in a buffer and written out in
//! pieces standard output can take without blocking ([`stop::wait_writable`]), so that a
//! reader that stopped reading (`ct watch | sleep 1000`) cannot keep ct from ending on
//! SIGINT or SIGTERM. Pieces end at the end of an event where they can: PIPE_BUF bytes
//! go into a pipe whole or not at all, so a reader never gets half an event's line when
//! ct gives up. What was written is counted in events, for a summary that is true.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::RawFd;

use anyhow::Result;

use super::stop::{self, StopSignals, Writable};

/// The most written at once: PIPE_BUF, what a pipe takes whole or not at all.
const PIECE: usize = 4096;

/// Standard output's descriptor.
const STDOUT: RawFd = 1;

/// Events waiting for standard output, and how many have gone out.
#[derive(Debug, Default)]
pub struct EventOutput {
    buffer: Vec<u8>,
    /// The bytes of `buffer` already written.
    written: usize,
    /// Where in `buffer` each event not yet wholly written ends.
    ends: VecDeque<usize>,
    /// The events wholly written.
    events_written: u64,
}

/// How [`EventOutput::drain`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Everything was written.
    All,
    /// A stop signal arrived and standard output took nothing more in time.
    GaveUp,
}

impl EventOutput {
    /// Marks the end of an event: what was written since belongs to it.
    pub fn end_event(&mut self) {
        self.ends.push_back(self.buffer.len());
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> usize {
        self.buffer.len() - self.written
    }

    /// The events whose text has wholly been written.
    pub fn events_written(&self) -> u64 {
        self.events_written
    }

    /// Writes everything waiting, in pieces standard output can take, unless a stop
    /// signal arrives and it takes nothing more for [`stop::STOP_GRACE`].
    pub fn drain(&mut self, signals: &StopSignals) -> Result<Drained> {
        while self.pending() > 0 {
            if stop::wait_writable(STDOUT, signals)? == Writable::GaveUp {
                return Ok(Drained::GaveUp);
            }
            let end = self.piece_end();
            let written = write_stdout(&self.buffer[self.written..end])?;
            self.written += written;
            while self.ends.front().is_some_and(|&end| end <= self.written) {
                self.ends.pop_front();
                self.events_written += 1;
            }
        }
        self.buffer.clear();
        self.written = 0;
        Ok(Drained::All)
    }

    /// Where the next piece ends: at the last event end within PIECE bytes, else (an
    /// event longer than that, or text after the last event) PIECE bytes on.
    fn piece_end(&self) -> usize {
        let limit = self.written + PIECE;
        if self.buffer.len() <= limit {
            return self.buffer.len();
        }
        match self.ends.partition_point(|&end| end <= limit) {
            0 => limit,
            n => self.ends[n - 1],
        }
    }
}

impl Write for EventOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One write(2) to standard output; retried when a signal interrupts it, and when the
/// descriptor (shared with another process) was made non-blocking and is full.
fn write_stdout(bytes: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: the pointer and length describe `bytes`, which outlives the call.
        let written = unsafe { libc::write(STDOUT, bytes.as_ptr().cast(), bytes.len()) };
        if written >= 0 {
            return Ok(written as usize);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(0),
            _ => return Err(crate::commands::stdout_error(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(events: &[usize]) -> EventOutput {
        let mut out = EventOutput::default();
        for &length in events {
            out.write_all(&vec![b'x'; length]).unwrap();
            out.end_event();
        }
        out
    }

    #[test]
    fn pieces_end_at_event_ends() {
        // Three events of 1500 bytes: the first piece holds two of them whole.
        assert_eq!(output(&[1500, 1500, 1500]).piece_end(), 3000);
        // All of it fits.
        assert_eq!(output(&[100, 200]).piece_end(), 300);
        // An event longer than a piece is cut.
        assert_eq!(output(&[5000, 10]).piece_end(), PIECE);
        let mut out = output(&[1000, 1000, 1000, 1000, 1000]);
        out.written = 1000;
        out.ends.pop_front();
        assert_eq!(out.piece_end(), 5000);
        out.written = 500;
        assert_eq!(out.piece_end(), 4000);
    }
}
