//! What ends a stream of events: SIGINT or SIGTERM, a deadline, or (in the caller) a
//! count.
//!
//! The two signals are blocked and read from a signalfd instead of being handled
//! asynchronously, so that ct takes them between two events: the line being written is
//! always finished, the output flushed and the summary printed before ct exits. Standard
//! output is only written when it can take more ([`wait_writable`]), so that a reader
//! that stopped reading cannot keep ct from taking a signal: after one, ct waits at most
//! [`STOP_GRACE`] for the output to drain.

use std::cell::Cell;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// How long, after SIGINT or SIGTERM, ct still waits for standard output to take what
/// is left before it gives up on it and ends.
pub const STOP_GRACE: Duration = Duration::from_millis(500);

use anyhow::{Context, Result};

/// SIGINT and SIGTERM, blocked and readable from a file descriptor.
pub struct StopSignals {
    fd: OwnedFd,
    /// When the first signal was read: ct is stopping since.
    since: Cell<Option<Instant>>,
}

/// Why [`wait`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// The socket has something to read.
    Readable,
    /// SIGINT or SIGTERM arrived.
    Signal,
    /// The deadline passed.
    Deadline,
}

impl StopSignals {
    /// Blocks SIGINT and SIGTERM in this thread (and the threads it starts later) and
    /// opens a signalfd that reads them. Call it before starting any thread.
    pub fn install() -> Result<StopSignals> {
        // SAFETY: sigset_t is plain data that sigemptyset initialises; every pointer
        // passed points into `set`, which outlives the calls.
        let fd = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            let result = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if result != 0 {
                return Err(io::Error::from_raw_os_error(result))
                    .context("cannot block SIGINT and SIGTERM");
            }
            libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK)
        };
        if fd < 0 {
            return Err(io::Error::last_os_error()).context("cannot open a signalfd");
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        Ok(StopSignals {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            since: Cell::new(None),
        })
    }

    /// True when SIGINT or SIGTERM has arrived, now or before; does not wait.
    pub fn arrived(&self) -> bool {
        if self.since.get().is_some() {
            return true;
        }
        if self.read_one() {
            self.since.set(Some(Instant::now()));
            return true;
        }
        false
    }

    /// Reads one signal from the signalfd, if one is there.
    fn read_one(&self) -> bool {
        let mut info = std::mem::MaybeUninit::<libc::signalfd_siginfo>::uninit();
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: the buffer is `size` bytes long and lives across the call.
        let read = unsafe { libc::read(self.fd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
        read == size as isize
    }
}

/// Waits until `socket` is readable, a stop signal arrives or `deadline` passes.
pub fn wait(sockets: &[RawFd], signals: &StopSignals, deadline: Option<Instant>) -> Result<Wakeup> {
    loop {
        let timeout = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(Wakeup::Deadline);
                }
                // Round up, so that the deadline has passed when poll returns.
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        let poll_fd = |fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // The signals first, then the sockets.
        let mut fds: Vec<libc::pollfd> = std::iter::once(signals.fd.as_raw_fd())
            .chain(sockets.iter().copied())
            .map(poll_fd)
            .collect();
        // SAFETY: `fds` holds initialised pollfd structures and outlives the call.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if ready < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err).context("cannot wait for events");
        }
        if fds[0].revents != 0 && signals.arrived() {
            return Ok(Wakeup::Signal);
        }
        if fds[1..].iter().any(|fd| fd.revents != 0) {
            return Ok(Wakeup::Readable);
        }
    }
}

/// Whether standard output can take more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    /// It can: a write of up to PIPE_BUF bytes does not block.
    Yes,
    /// A stop signal arrived and the output took nothing more for [`STOP_GRACE`].
    GaveUp,
}

/// Waits until `out` can be written without blocking (or has failed, which the write
/// then reports), for ever while no stop signal arrives, and at most until
/// [`STOP_GRACE`] after one.
pub fn wait_writable(out: RawFd, signals: &StopSignals) -> Result<Writable> {
    loop {
        let stopping = signals.since.get();
        let timeout = match stopping {
            None => -1,
            Some(since) => {
                let left = (since + STOP_GRACE).saturating_duration_since(Instant::now());
                left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32
            }
        };
        let mut fds = [
            libc::pollfd {
                fd: out,
                events: libc::POLLOUT,
                revents: 0,
            },
            libc::pollfd {
                // A negative descriptor is ignored: once stopping, signals no longer wake.
                fd: if stopping.is_some() {
                    -1
                } else {
                    signals.fd.as_raw_fd()
                },
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` holds initialised pollfd structures and outlives the call.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if ready < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err).context("cannot wait for standard output");
        }
        if fds[0].revents != 0 {
            return Ok(Writable::Yes);
        }
        if fds[1].revents != 0 {
            // Starts the grace period (or, a spurious wakeup, waits on).
            signals.arrived();
            continue;
        }
        if stopping.is_some() && ready == 0 {
            return Ok(Writable::GaveUp);
        }
    }
}
