//! `ct watch`: conntrack's events as they happen, as `conntrack -E` prints them.
//!
//! The socket joins only the groups of the events asked for, carries a BPF program that
//! drops in the kernel the events the filter rules out (`netlink::event_filter`), and
//! has a large receive buffer, so that a burst does not overrun it. Each event is then
//! decoded, checked against the filter (the output never depends on the BPF program),
//! and printed. Output is flushed whenever the socket runs dry (at once on a terminal),
//! so a reader sees each event promptly while a burst is written in large blocks.

mod programs;
mod stop;

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Stderr, connect, load_labels, stdout};
use crate::cli::WatchArgs;
use crate::decode::{decode_entry, expect::decode_expectation};
use crate::filter::Filter;
use crate::kernel::*;
use crate::model::event::{EventKind, EventSet};
use crate::netlink::{Conntrack, EventReceive, Message, event_filter};
use crate::output::event::{Cause, Event, EventPrinter, unix_now_nanos};
use crate::plan::{self, Output, Target, Watch};
use programs::ProgramNames;
use stop::{StopSignals, Wakeup};

/// The event socket's receive buffer when `-b` is not given: room for about 50,000
/// queued events, so a burst of inserts at 100,000 a second does not overrun it while
/// ct writes to a slow disk. Only what is queued uses memory.
const DEFAULT_EVENT_BUFFER: usize = 64 << 20;

/// How many events ct takes between two looks at the stop signals and the deadline
/// while the socket never runs dry.
const EVENTS_BETWEEN_CHECKS: u32 = 1024;

/// How often, at most, the "events were lost" warning is repeated.
const OVERRUN_WARNING_INTERVAL: Duration = Duration::from_secs(1);

pub fn run(args: &WatchArgs) -> Result<()> {
    let target = Target::from_args(&args.target)?;
    let (filter, label_map) = plan::filter(&args.filter)?;
    let output = Output::from_args(&args.output, label_map)?;
    let watch = Watch::from_args(args, &output)?;
    if watch.expectations {
        super::expect::check_filter(&filter)?;
        super::expect::check_format(&output.format)?;
    }
    // Before any thread exists, so that none of them takes the signals.
    let signals = StopSignals::install()?;
    let mut conntrack = open_event_socket(&target, &watch, &filter)?;
    let labels = load_labels(&output.labels);
    let (out, terminal) = stdout();
    let mut watcher = Watcher {
        filter: &filter,
        events: watch.events,
        expectations: watch.expectations,
        printer: EventPrinter::new(
            &output.format,
            output.timestamp,
            labels.as_ref(),
            watch.expectations,
        ),
        programs: ProgramNames::default(),
        out,
        line_buffered: terminal,
        limit: watch.count,
        shown: 0,
    };
    let deadline = watch.duration.map(|duration| Instant::now() + duration);
    let overruns = stream(&mut conntrack, &mut watcher, &signals, deadline)?;
    let shown = watcher.finish()?;
    if overruns.count > 0 {
        report_overruns(&conntrack, overruns.count);
    }
    if !output.quiet {
        let what = if watch.expectations {
            "expectation"
        } else {
            "flow"
        };
        let _ = writeln!(Stderr, "ct: {shown} {what} events have been shown.");
    }
    Ok(())
}

/// Opens the socket in the target namespace, sized, joined to the groups of the events
/// asked for, with reliable delivery if asked and the kernel-side filter.
fn open_event_socket(target: &Target, watch: &Watch, filter: &Filter) -> Result<Conntrack> {
    let sized = Target {
        socket_buffer: target.socket_buffer.or(Some(DEFAULT_EVENT_BUFFER)),
        ..target.clone()
    };
    let mut conntrack = connect(&sized)?;
    conntrack.join_groups(&watch.events.groups(watch.expectations))?;
    if watch.reliable {
        conntrack.request_reliable_delivery()?;
    }
    // The program reads entry attributes; expectation events are filtered in ct alone.
    if watch.kernel_filter && !watch.expectations {
        if let Some(program) = event_filter::program(filter, watch.events) {
            event_filter::attach(conntrack.raw_fd(), &program)?;
        }
    }
    Ok(conntrack)
}

/// How often the kernel reported lost events.
#[derive(Debug, Default)]
struct Overruns {
    count: u64,
    last_warning: Option<Instant>,
}

/// Receives and prints events until a stop signal, the deadline or the count; returns
/// how often events were lost.
fn stream<W: Write>(
    conntrack: &mut Conntrack,
    watcher: &mut Watcher<'_, W>,
    signals: &StopSignals,
    deadline: Option<Instant>,
) -> Result<Overruns> {
    let mut overruns = Overruns::default();
    let mut since_check = 0;
    while !watcher.done() {
        match conntrack.try_receive_events(|message| watcher.on_message(message))? {
            EventReceive::Messages(_) => {
                since_check += 1;
                if since_check < EVENTS_BETWEEN_CHECKS {
                    continue;
                }
                since_check = 0;
                if signals.arrived() || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
            }
            EventReceive::Overrun => {
                overruns.count += 1;
                let due = overruns
                    .last_warning
                    .is_none_or(|last| last.elapsed() >= OVERRUN_WARNING_INTERVAL);
                if due {
                    overruns.last_warning = Some(Instant::now());
                    warn_overruns(conntrack, overruns.count);
                }
            }
            EventReceive::Nothing => {
                watcher.flush()?;
                match stop::wait(conntrack.raw_fd(), signals, deadline)? {
                    Wakeup::Readable => {}
                    Wakeup::Signal | Wakeup::Deadline => break,
                }
            }
        }
    }
    Ok(overruns)
}

/// Says that the kernel dropped events, how often, and what helps.
fn warn_overruns(conntrack: &Conntrack, count: u64) {
    let buffer = conntrack
        .socket_buffer()
        .map(|bytes| format!(" ({bytes} bytes)"))
        .unwrap_or_default();
    let _ = writeln!(
        Stderr,
        "ct: warning: the kernel dropped events: the socket's receive buffer{buffer} was \
         full (ENOBUFS, {count} times so far); raise it with -b, narrow the filters, or \
         write to a faster destination"
    );
}

/// Says, at the end, that events were lost, and what helps.
fn report_overruns(conntrack: &Conntrack, count: u64) {
    let buffer = conntrack
        .socket_buffer()
        .map(|bytes| format!(" (it has {bytes} bytes)"))
        .unwrap_or_default();
    let _ = writeln!(
        Stderr,
        "ct: warning: events were lost: the kernel found the socket's receive buffer full \
         {count} times (ENOBUFS); raise it with -b{buffer}, narrow the filters, or watch \
         DESTROY events with --reliable"
    );
}

/// The per-event path: decode, check the kind and the filter, print, count.
struct Watcher<'m, W: Write> {
    filter: &'m Filter,
    events: EventSet,
    expectations: bool,
    printer: EventPrinter<'m>,
    programs: ProgramNames,
    out: W,
    /// Flush after every event, as a terminal expects.
    line_buffered: bool,
    limit: Option<u64>,
    shown: u64,
}

impl<W: Write> Watcher<'_, W> {
    fn done(&self) -> bool {
        self.limit.is_some_and(|limit| self.shown >= limit)
    }

    fn on_message(&mut self, message: Message<'_>) -> Result<()> {
        let Some(kind) = EventKind::of_message(message.message_type, message.flags) else {
            return Ok(());
        };
        if !self.events.contains(kind) || self.done() {
            return Ok(());
        }
        let shown = if self.expectations {
            self.expectation_event(kind, &message)?
        } else {
            self.entry_event(kind, &message)?
        };
        if shown {
            self.shown += 1;
            if self.line_buffered {
                self.out.flush()?;
            }
        }
        Ok(())
    }

    /// Prints the entry of an event if it passes the filter; says whether it did.
    fn entry_event(&mut self, kind: EventKind, message: &Message<'_>) -> Result<bool> {
        if message.subsystem != NFNL_SUBSYS_CTNETLINK {
            return Ok(false);
        }
        let entry = match decode_entry(message.family, message.attributes) {
            Ok(entry) => entry,
            Err(err) => {
                writeln!(Stderr, "ct: skipped an event the kernel sent: {err}")?;
                return Ok(false);
            }
        };
        if !self.filter.matches(&entry) {
            return Ok(false);
        }
        let cause = (message.portid != 0).then(|| Cause {
            portid: message.portid,
            program: self.programs.name(message.portid),
        });
        let event = Event {
            kind,
            time: entry.event_time.unwrap_or_else(unix_now_nanos),
            cause,
        };
        self.printer.print(&mut self.out, &event, &entry)?;
        Ok(true)
    }

    /// Prints the expectation of an event if it passes the filter; says whether it did.
    fn expectation_event(&mut self, kind: EventKind, message: &Message<'_>) -> Result<bool> {
        if message.subsystem != NFNL_SUBSYS_CTNETLINK_EXP {
            return Ok(false);
        }
        let expectation = match decode_expectation(message.family, message.attributes) {
            Ok(expectation) => expectation,
            Err(err) => {
                writeln!(Stderr, "ct: skipped an event the kernel sent: {err}")?;
                return Ok(false);
            }
        };
        if !self.filter.matches_expectation(&expectation) {
            return Ok(false);
        }
        let event = Event {
            kind,
            time: unix_now_nanos(),
            cause: None,
        };
        self.printer
            .print_expectation(&mut self.out, &event, &expectation)?;
        Ok(true)
    }

    fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }

    /// Ends the output (XML's closing tag), flushes it and returns how many events
    /// were shown.
    fn finish(mut self) -> Result<u64> {
        self.printer.finish(&mut self.out)?;
        self.out.flush()?;
        Ok(self.shown)
    }
}
