//! `ct watch`: conntrack's events as they happen, as `conntrack -E` prints them.
//!
//! The socket joins only the groups of the events asked for, carries a BPF program that
//! drops in the kernel the events the filter rules out (`filter::events`), and
//! has a large receive buffer, so that a burst does not overrun it. Each event is then
//! decoded, checked against the filter (the output never depends on the BPF program),
//! and printed. Output is flushed whenever the socket runs dry (at once on a terminal),
//! so a reader sees each event promptly while a burst is written in large blocks; it is
//! written only as fast as standard output takes it (`output`), so that SIGINT and
//! SIGTERM end ct even while its reader has stopped reading.

mod output;
mod programs;
mod stop;

use std::collections::HashSet;
use std::io::Write;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Stderr, load_labels};
use crate::filter::Filter;
use crate::model::event::{EventKind, EventSet};
use crate::model::table::Table;
use crate::netlink::netns::{Place, Scope};
use crate::netlink::{Conntrack, Event as KernelEvent, EventReceive, Subscription};
use crate::output::event::{Cause, Event, unix_now_nanos};
use crate::output::{Frame, NetnsTag, Print, Printer, Record, Settings, unix_now_seconds};
use crate::plan::{Target, Watch};
use output::{Drained, EventOutput};
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

/// How much output ct gathers before it writes it, when the socket does not run dry.
const OUTPUT_BUFFER: usize = 64 * 1024;

pub fn run(watch: Watch) -> Result<()> {
    let (target, filter, output) = (&watch.target, &watch.filter, &watch.output);
    // Before any thread exists, so that none of them takes the signals.
    let signals = StopSignals::install()?;
    let mut scan = target.all().then(|| NamespaceScan::new(&watch, filter));
    let mut sockets = match &mut scan {
        Some(scan) => scan.first()?,
        None => {
            let place = super::target_place(target);
            let conntrack = open_event_socket(&place, target, &watch, filter)?;
            vec![EventSocket::new(place, conntrack)]
        }
    };
    let labels = load_labels(&output.labels);
    let mut watcher = Watcher {
        filter,
        events: watch.events,
        table: watch.table,
        printer: Printer::new(
            &output.format,
            Settings {
                table: watch.table,
                labels: labels.as_ref(),
                now: unix_now_seconds(),
                timestamp: output.timestamp,
                namespaces: target.all(),
            },
        ),
        programs: ProgramNames::default(),
        out: EventOutput::default(),
        signals: &signals,
        gave_up: false,
        line_buffered: output.line_buffered,
        limit: watch.count,
        shown: 0,
        netns: None,
        place: Rc::new(Place::OWN),
    };
    let deadline = watch.duration.map(|duration| Instant::now() + duration);
    stream(
        &mut sockets,
        scan.as_mut(),
        &mut watcher,
        &signals,
        deadline,
        watch.resends_lost_events(),
    )?;
    let ending = watcher.finish()?;
    for socket in &sockets {
        if socket.overruns.count > 0 && !watch.resends_lost_events() {
            report_overruns(&socket.conntrack, socket.overruns.count, watch.reliable);
        }
    }
    if ending.unwritten > 0 {
        let _ = writeln!(
            Stderr,
            "{}standard output took nothing for {} ms after the signal; ct gave up on it \
             with {} unwritten",
            crate::commands::prefix(),
            stop::STOP_GRACE.as_millis(),
            crate::output::count(ending.unwritten, "event", "events")
        );
    }
    if !output.quiet {
        let what = if watch.table.holds_expectations() {
            "expectation"
        } else {
            "flow"
        };
        // conntrack's words, "1 flow events" included.
        let _ = writeln!(
            Stderr,
            "{}{} {what} events have been shown.",
            crate::commands::prefix(),
            ending.written
        );
    }
    Ok(())
}

/// One socket events arrive on: that of ct's namespace, or with `--all-netns` one per
/// namespace, with how often it lost events.
struct EventSocket {
    /// Shared with the watcher while this socket is read: a count, not a copy.
    netns: Option<Rc<NetnsTag>>,
    /// Its namespace, where the programs behind its events are looked up.
    place: Rc<Place>,
    conntrack: Conntrack,
    overruns: Overruns,
}

impl EventSocket {
    fn new(place: Place, conntrack: Conntrack) -> EventSocket {
        EventSocket {
            netns: place
                .tag()
                .map(|namespace| Rc::new(NetnsTag::of(namespace))),
            place: Rc::new(place),
            conntrack,
            overruns: Overruns::default(),
        }
    }
}

/// How often `--all-netns` looks for namespaces made since it started.
const NAMESPACE_SCAN_INTERVAL: Duration = Duration::from_secs(1);

/// `--all-netns`: an event socket in every namespace, each opened from a thread that
/// entered it; those present at the start (through `commands::for_each_place`, whose
/// error policy applies), then, looked for every second, those made since (through
/// `commands::visit_places`, the same walk). A namespace that cannot be entered is
/// reported once and skipped.
struct NamespaceScan<'a> {
    watch: &'a Watch,
    filter: &'a Filter,
    /// The namespaces watched, or tried and skipped, by inode.
    known: HashSet<u64>,
    next: Instant,
}

impl<'a> NamespaceScan<'a> {
    fn new(watch: &'a Watch, filter: &'a Filter) -> Self {
        NamespaceScan {
            watch,
            filter,
            known: HashSet::new(),
            next: Instant::now() + NAMESPACE_SCAN_INTERVAL,
        }
    }

    /// The sockets of the namespaces present now; fails when none could be opened.
    fn first(&mut self) -> Result<Vec<EventSocket>> {
        let mut sockets = Vec::new();
        super::for_each_place(&Scope::All, super::report_skipped, |place| {
            self.known
                .extend(place.namespace.as_ref().map(|ns| ns.inode));
            let conntrack = self.open(place)?;
            sockets.push(EventSocket::new(place.clone(), conntrack));
            Ok(())
        })?;
        Ok(sockets)
    }

    /// When due, adds the sockets of namespaces made since the last look.
    fn pick_up(&mut self, sockets: &mut Vec<EventSocket>) {
        if Instant::now() < self.next {
            return;
        }
        self.next = Instant::now() + NAMESPACE_SCAN_INTERVAL;
        // The same walk and policy for a namespace made later: reported and skipped.
        let made: Vec<Place> = Scope::All
            .places()
            .into_iter()
            .filter(|place| {
                place
                    .namespace
                    .as_ref()
                    .is_some_and(|namespace| self.known.insert(namespace.inode))
            })
            .collect();
        // Opening sockets writes nothing to standard output: the walk cannot fail.
        let _ = super::visit_places(
            &made,
            |place, err| super::report_skipped(super::skipped_message(place, &err)),
            |place| {
                sockets.push(EventSocket::new(place.clone(), self.open(place)?));
                Ok(())
            },
        );
    }

    fn open(&self, place: &Place) -> Result<Conntrack> {
        open_event_socket(place, &self.watch.target, self.watch, self.filter)
    }
}

/// Opens the socket in `place`'s namespace (from a thread that entered it, as every
/// socket), sized, joined to the groups of the events asked for, with reliable delivery
/// if asked and the kernel-side filter.
fn open_event_socket(
    place: &Place,
    target: &Target,
    watch: &Watch,
    filter: &Filter,
) -> Result<Conntrack> {
    let size = target.socket_buffer.or(Some(DEFAULT_EVENT_BUFFER));
    let mut conntrack = Conntrack::open_at(place, size)?;
    conntrack.subscribe(&Subscription {
        table: watch.table,
        events: watch.events,
        reliable: watch.reliable,
        filter: watch.kernel_filter.then_some(filter),
    })?;
    Ok(conntrack)
}

/// How often the kernel reported that it could not deliver events.
#[derive(Debug, Default)]
struct Overruns {
    count: u64,
    last_warning: Option<Instant>,
}

/// Receives and prints events, from every socket in turn, until a stop signal, the
/// deadline or the count. With `scan`, namespaces made meanwhile join in.
fn stream(
    sockets: &mut Vec<EventSocket>,
    mut scan: Option<&mut NamespaceScan<'_>>,
    watcher: &mut Watcher<'_>,
    signals: &StopSignals,
    deadline: Option<Instant>,
    resends: bool,
) -> Result<()> {
    let mut since_check = 0;
    'streaming: while !watcher.done() {
        let mut idle = true;
        for socket in sockets.iter_mut() {
            watcher.netns = socket.netns.clone();
            watcher.place = Rc::clone(&socket.place);
            match socket
                .conntrack
                .try_receive_events(|event| watcher.on_event(event))?
            {
                EventReceive::Received(_) if watcher.gave_up => break 'streaming,
                EventReceive::Received(_) => {
                    idle = false;
                    since_check += 1;
                    if since_check < EVENTS_BETWEEN_CHECKS {
                        continue;
                    }
                    since_check = 0;
                    if signals.arrived() || deadline.is_some_and(|d| Instant::now() >= d) {
                        break 'streaming;
                    }
                }
                EventReceive::Overrun => {
                    idle = false;
                    note_overrun(socket, resends);
                }
                EventReceive::Nothing => {}
            }
        }
        if let Some(scan) = scan.as_deref_mut() {
            scan.pick_up(sockets);
        }
        if idle {
            watcher.flush()?;
            if watcher.gave_up {
                break;
            }
            let fds: Vec<_> = sockets.iter().map(|s| s.conntrack.raw_fd()).collect();
            // Woken for the next look for namespaces too, when there is one.
            let wake = match (deadline, scan.as_deref()) {
                (Some(deadline), Some(scan)) => Some(deadline.min(scan.next)),
                (deadline, scan) => deadline.or(scan.map(|scan| scan.next)),
            };
            match stop::wait(&fds, signals, wake)? {
                Wakeup::Readable => {}
                Wakeup::Deadline if deadline.is_none_or(|d| Instant::now() < d) => {}
                Wakeup::Signal | Wakeup::Deadline => break,
            }
        }
    }
    Ok(())
}

/// Counts a failed delivery on `socket`, and warns at most once a second that events
/// were lost, unless the kernel sends them again (`resends`).
fn note_overrun(socket: &mut EventSocket, resends: bool) {
    let overruns = &mut socket.overruns;
    overruns.count += 1;
    if resends {
        return;
    }
    let due = overruns
        .last_warning
        .is_none_or(|last| last.elapsed() >= OVERRUN_WARNING_INTERVAL);
    if due {
        overruns.last_warning = Some(Instant::now());
        warn_overruns(&socket.conntrack, socket.netns.as_deref(), overruns.count);
    }
}

/// Says that the kernel dropped events (of which namespace), how often, and what helps.
fn warn_overruns(conntrack: &Conntrack, netns: Option<&NetnsTag>, count: u64) {
    let buffer = conntrack
        .socket_buffer()
        .map(|bytes| format!(" ({bytes} bytes)"))
        .unwrap_or_default();
    let whose = netns
        .map(|tag| format!(" of network namespace {}", tag.label))
        .unwrap_or_default();
    let _ = writeln!(
        Stderr,
        "{}warning: the kernel dropped events{whose}: the socket's receive buffer{buffer} \
         was full (ENOBUFS, {count} so far); raise it with -b, narrow the filters, or \
         write to a faster destination",
        crate::commands::prefix(),
        count = crate::output::count(count, "time", "times")
    );
}

/// Says, at the end, that events were lost, and what helps. With `--reliable` the
/// kernel sent the DESTROY events of connections again; what was lost is the rest.
fn report_overruns(conntrack: &Conntrack, count: u64, reliable: bool) {
    let buffer = conntrack
        .socket_buffer()
        .map(|bytes| format!(" (it has {bytes} bytes)"))
        .unwrap_or_default();
    let reliable = if reliable {
        "; --reliable has the kernel send again only the DESTROY events of connections"
    } else {
        ", or watch DESTROY events with --reliable"
    };
    let _ = writeln!(
        Stderr,
        "{}warning: events were lost: the kernel found the socket's receive buffer full \
         {} (ENOBUFS); raise it with -b{buffer}, narrow the filters{reliable}",
        crate::commands::prefix(),
        crate::output::count(count, "time", "times")
    );
}

/// The per-event path: decode, check the kind and the filter, print, count.
struct Watcher<'m> {
    filter: &'m Filter,
    events: EventSet,
    /// Whose events: the connections' or the expectations'.
    table: Table,
    printer: Printer<'m>,
    programs: ProgramNames,
    out: EventOutput,
    /// What ends the stream; once one arrived, writes wait only so long.
    signals: &'m StopSignals,
    /// Standard output took nothing after a stop signal: nothing more is written.
    gave_up: bool,
    /// Flush after every event, as a terminal expects.
    line_buffered: bool,
    limit: Option<u64>,
    shown: u64,
    /// The namespace of the socket being read, with `--all-netns`.
    netns: Option<Rc<NetnsTag>>,
    /// The namespace of the socket being read, where port ids name programs.
    place: Rc<Place>,
}

/// How the output ended: the events written whole, and those shown to ct that standard
/// output did not take.
struct Ending {
    written: u64,
    unwritten: u64,
}

impl Watcher<'_> {
    fn done(&self) -> bool {
        self.gave_up || self.limit.is_some_and(|limit| self.shown >= limit)
    }

    fn on_event(&mut self, event: KernelEvent<'_>) -> Result<()> {
        let kind = event.kind;
        if !self.events.contains(kind) || self.done() {
            return Ok(());
        }
        let shown = if self.table.holds_expectations() {
            self.expectation_event(kind, &event)?
        } else {
            self.entry_event(kind, &event)?
        };
        if shown {
            self.shown += 1;
            self.out.end_event();
            if self.line_buffered || self.out.pending() >= OUTPUT_BUFFER {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Prints the entry of an event if it passes the filter; says whether it did.
    fn entry_event(&mut self, kind: EventKind, message: &KernelEvent<'_>) -> Result<bool> {
        let entry = match message.entry() {
            None => return Ok(false),
            Some(Ok(entry)) => entry,
            Some(Err(err)) => {
                writeln!(
                    Stderr,
                    "{}skipped an event the kernel sent: {err}",
                    crate::commands::prefix()
                )?;
                return Ok(false);
            }
        };
        if !self.filter.matches(&entry) {
            return Ok(false);
        }
        let cause = (message.portid != 0).then(|| Cause {
            portid: message.portid,
            program: self.programs.name(message.portid, &self.place),
        });
        let event = Event {
            kind,
            time: entry.event_time.unwrap_or_else(unix_now_nanos),
            cause,
        };
        let frame = Frame {
            netns: self.netns.as_deref(),
            event: Some(event),
        };
        self.printer
            .print(&mut self.out, Record::Entry(&entry), &frame)?;
        Ok(true)
    }

    /// Prints the expectation of an event if it passes the filter; says whether it did.
    fn expectation_event(&mut self, kind: EventKind, message: &KernelEvent<'_>) -> Result<bool> {
        let expectation = match message.expectation() {
            None => return Ok(false),
            Some(Ok(expectation)) => expectation,
            Some(Err(err)) => {
                writeln!(
                    Stderr,
                    "{}skipped an event the kernel sent: {err}",
                    crate::commands::prefix()
                )?;
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
        let frame = Frame {
            netns: self.netns.as_deref(),
            event: Some(event),
        };
        self.printer
            .print(&mut self.out, Record::Expectation(&expectation), &frame)?;
        Ok(true)
    }

    /// Writes what is waiting, unless standard output was given up on.
    fn flush(&mut self) -> Result<()> {
        if !self.gave_up && self.out.drain(self.signals)? == Drained::GaveUp {
            self.gave_up = true;
        }
        Ok(())
    }

    /// Ends the output (XML's closing tag) and writes it out, unless standard output
    /// was given up on; says how many events went out.
    fn finish(mut self) -> Result<Ending> {
        if !self.gave_up {
            self.printer.finish(&mut self.out)?;
        }
        self.flush()?;
        let written = self.out.events_written();
        Ok(Ending {
            written,
            unwritten: self.shown - written,
        })
    }
}
