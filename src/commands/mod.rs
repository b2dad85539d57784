//! The commands, one file each: a short composition of the stages (plan → netlink →
//! decode → filter → output). What more than one command needs to do the same way
//! (open the socket in the right namespace, set up stdout, read label names) is here.

pub mod count;
pub mod create;
pub mod delete;
pub mod expect;
pub mod exporter;
pub mod get;
pub mod help;
pub mod list;
pub mod stats;
pub mod top;
pub mod update;
pub mod watch;

use std::io::{self, StdoutLock, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::input::SavedDump;
use crate::labelmap::LabelMap;
use crate::model::table::Table;
use crate::netlink::Conntrack;
use crate::netlink::netns::{Namespace, Place, Scope};
use crate::plan::{self, Environment, LabelSource, Target};

/// What ct's own messages on stderr start with: `ct: `, or, when ct runs as `conntrack`
/// (`crate::conntrack`), conntrack's banner. Set once, before any command runs.
static PREFIX: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// The start of every message ct writes on stderr (see [`set_prefix`]).
pub fn prefix() -> &'static str {
    PREFIX.get().copied().unwrap_or("ct: ")
}

/// Makes `prefix` the start of ct's messages for the rest of the process; the first call
/// wins (the conntrack mode makes it before running a command).
pub fn set_prefix(prefix: &'static str) {
    let _ = PREFIX.set(prefix);
}

/// Runs the command the user asked for.
/// Each command gets its plan, made before anything else happens (a misfit of the
/// command line is a `plan::UsageError`, exit 2), and carries it out.
pub fn run(cli: Cli) -> Result<()> {
    let env = Environment::current();
    match cli.command {
        Command::List(args) => list::run(plan::List::from_args(&args, &env)?),
        Command::Count(args) => count::run(plan::Count::from_args(&args)?),
        Command::Stats(args) => stats::run(plan::Stats::from_args(&args)?),
        Command::Get(args) if args.table == Table::Expect => {
            get::run_expect(plan::GetExpect::from_args(&args, &env)?)
        }
        Command::Get(args) => get::run(plan::Get::from_args(&args, &env)?),
        Command::Create(args) if args.table == Table::Expect => {
            create::run_expect(plan::CreateExpect::from_args(&args)?)
        }
        Command::Create(args) => create::run(plan::Create::from_args(&args)?),
        Command::Restore(args) => create::restore(plan::Restore::from_args(&args)?),
        Command::Delete(args) => delete::run(plan::Delete::from_args(&args, &env)?),
        Command::Update(args) => update::run(plan::Update::from_args(&args, &env)?),
        Command::Flush(args) => delete::flush(plan::Flush::from_args(&args, &env)?),
        Command::Watch(args) => watch::run(plan::Watch::from_args(&args, &env)?),
        Command::Top(args) => top::run(plan::Top::from_args(&args, &env)?),
        Command::Exporter(args) => exporter::run(plan::Exporter::from_args(&args)?),
        Command::Completions { shell } => help::completions(shell),
        Command::Man { list: true, .. } => help::man_list(),
        Command::Man { page, list: false } => help::man(page),
    }
}

/// Opens the ctnetlink socket in the namespace `target` names (ct's own, or the one
/// `--netns` names, from a thread that entered it: ct never leaves its own). Under
/// `--all-netns`, which reads namespaces through [`for_each_place`], ct's own.
pub fn connect(target: &Target) -> Result<Conntrack> {
    Conntrack::open_at(&target_place(target), target.socket_buffer)
}

/// The one place a target that is not `--all-netns` names.
pub fn target_place(target: &Target) -> Place {
    match &target.scope {
        Scope::Named(_) => target.scope.places().pop().unwrap_or(Place::OWN),
        Scope::Own | Scope::All => Place::OWN,
    }
}

/// Runs `each` on the table of every namespace `target` reads (see
/// [`for_each_place`]), with the namespace to tag its output with under `--all-netns`.
pub fn for_each_table(
    target: &Target,
    mut each: impl FnMut(&mut Conntrack, Option<&Namespace>) -> Result<()>,
) -> Result<()> {
    for_each_place(&target.scope, report_skipped, |place| {
        let mut conntrack = Conntrack::open_at(place, target.socket_buffer)?;
        each(&mut conntrack, place.tag())
    })
}

/// Whether the conntrack table behind `conntrack` may hold entries: false only when the
/// kernel's own count of that namespace's entries ([`Conntrack::count_entries`]:
/// CT_GET_STATS, constant time, or the nf_conntrack_count sysctl where ctnetlink
/// refuses it) is 0. `--all-netns` asks it of each namespace before dumping, so that an
/// empty namespace costs one small request instead of a walk of the host's whole hash
/// table. The count covers every connection of the namespace (confirmed, unconfirmed
/// and dying), so it is the right one for the conntrack table and its dying and
/// unconfirmed lists, never for expectations. When the count cannot be read the table
/// may hold entries: the dump decides. An entry created just after the count is missed,
/// as it would be by a dump that had just passed its bucket.
pub fn may_hold_entries(conntrack: &mut Conntrack) -> bool {
    conntrack.count_entries().map_or(true, |count| count > 0)
}

/// The one loop over the namespaces a plan reads, with the one error policy
/// (docs/namespaces.md). ct's own namespace or the one `--netns` names is one place:
/// when it cannot be entered (it does not exist, is no namespace, or the right to enter
/// it is missing) or read, that is the command's failure (exit 1). `--all-netns` lists
/// the namespaces once, then enters each in turn through [`visit_places`]: one that
/// fails (it vanished since the listing, cannot be entered, or its kernel refused) is
/// handed to `skipped` as `network namespace LABEL: WHY; skipped` and the rest go on;
/// the command fails only when none could be read ("no network namespace could be
/// read"), or at once when standard output fails.
pub fn for_each_place(
    scope: &Scope,
    mut skipped: impl FnMut(String),
    mut each: impl FnMut(&Place) -> Result<()>,
) -> Result<()> {
    let places = scope.places();
    if *scope != Scope::All {
        return places.iter().try_for_each(each);
    }
    let mut last_failure = None;
    let read_any = visit_places(
        &places,
        |place, err| {
            skipped(skipped_message(place, &err));
            last_failure = Some(err);
        },
        &mut each,
    )?;
    match last_failure {
        Some(err) if !read_any => Err(err.context("no network namespace could be read")),
        _ => Ok(()),
    }
}

/// How many pieces the place being taken may have queued ([`for_each_place_ahead`]).
const PIECES_QUEUED: usize = 4;

/// How many pieces all places may have queued before a place read ahead of its turn
/// waits ([`for_each_place_ahead`]): with `ct list`'s pieces of 64 KiB, 32 MiB.
const PIECES_AHEAD: usize = 512;

/// What a reader of [`for_each_place_ahead`] hands the consumer: a piece of a place's
/// reading, or how the reading ended.
enum Ahead<T, R> {
    Piece(T),
    End(Result<R>),
}

/// The hand-over of [`for_each_place_ahead`]: which place the consumer is at, whether
/// it stopped, and how many pieces wait (per place, and in all).
struct Window {
    state: Mutex<WindowState>,
    moved: Condvar,
}

struct WindowState {
    at: usize,
    stopped: bool,
    queued: Vec<usize>,
    total: usize,
}

impl Window {
    fn lock(&self) -> std::sync::MutexGuard<'_, WindowState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait_while<'g>(
        &self,
        guard: std::sync::MutexGuard<'g, WindowState>,
        mut blocked: impl FnMut(&WindowState) -> bool,
    ) -> std::sync::MutexGuard<'g, WindowState> {
        self.moved
            .wait_while(guard, |state| !state.stopped && blocked(state))
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until place `index` is at most `ahead` places past the consumer's; false
    /// when the consumer stopped.
    fn may_start(&self, index: usize, ahead: usize) -> bool {
        let state = self.wait_while(self.lock(), |state| index > state.at + ahead);
        !state.stopped
    }

    /// Waits until place `index` may queue one more piece, and counts it: the place
    /// being taken up to [`PIECES_QUEUED`], the others while all places hold fewer than
    /// [`PIECES_AHEAD`]. False when the consumer stopped.
    fn may_queue(&self, index: usize) -> bool {
        let mut state = self.wait_while(self.lock(), |state| match index.cmp(&state.at) {
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => state.queued[index] >= PIECES_QUEUED,
            std::cmp::Ordering::Greater => state.total >= PIECES_AHEAD,
        });
        // A place the consumer has left (it failed) takes nothing more.
        if state.stopped || index < state.at {
            return false;
        }
        state.queued[index] += 1;
        state.total += 1;
        true
    }

    /// The consumer took a piece of place `index`.
    fn took(&self, index: usize) {
        let mut state = self.lock();
        state.queued[index] -= 1;
        state.total -= 1;
        self.moved.notify_all();
    }

    /// The consumer moves on to place `at`: what the place it left still had queued
    /// (when it failed mid-way) is no longer counted.
    fn set(&self, at: usize, stopped: bool) {
        let mut state = self.lock();
        let left = state.at;
        if left < at {
            if let Some(queued) = state.queued.get_mut(left) {
                let dropped = std::mem::take(queued);
                state.total -= dropped;
            }
        }
        state.at = at;
        state.stopped = stopped;
        self.moved.notify_all();
    }
}

/// [`for_each_place`] under `--all-netns` with the reading of several places
/// overlapped: one reader thread per core (`available_parallelism`) runs `read` on the
/// places in the order listed, each handing the pieces of its reading over through a
/// channel of its place, and the calling thread hands them to `take` place by place, in
/// that order, then the place's result to `end`: the output is what the one-by-one walk
/// would make. Memory is bounded: a reader never starts a place more than one place
/// per thread ahead of the one being taken; the place being taken queues at most
/// [`PIECES_QUEUED`] pieces, and the places ahead of it wait once all places hold
/// [`PIECES_AHEAD`] (besides the one piece each reader fills). The error policy is
/// [`for_each_place`]'s; a failure of `take` counts as the place's.
pub fn for_each_place_ahead<T: Send, R: Send>(
    places: &[Place],
    mut skipped: impl FnMut(String),
    read: impl Fn(&Place, &mut dyn FnMut(T) -> Result<()>) -> Result<R> + Sync,
    mut take: impl FnMut(&Place, T) -> Result<()>,
    mut end: impl FnMut(&Place, R),
) -> Result<()> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, places.len().max(1));
    let next = AtomicUsize::new(0);
    let window = Window {
        state: Mutex::new(WindowState {
            at: 0,
            stopped: false,
            queued: vec![0; places.len()],
            total: 0,
        }),
        moved: Condvar::new(),
    };
    let (senders, receivers): (Vec<_>, Vec<_>) = places
        .iter()
        .map(|_| mpsc::channel::<Ahead<T, R>>())
        .unzip();
    let mut last_failure = None;
    let mut read_any = false;
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let (Some(place), Some(sender)) = (places.get(index), senders.get(index))
                    else {
                        return;
                    };
                    if !window.may_start(index, threads) {
                        return;
                    }
                    let result = read(place, &mut |piece| {
                        if !window.may_queue(index) {
                            anyhow::bail!("the walk stopped");
                        }
                        sender
                            .send(Ahead::Piece(piece))
                            .map_err(|_| anyhow::anyhow!("the walk stopped"))
                    });
                    let _ = sender.send(Ahead::End(result));
                }
            });
        }
        let walk = (|| {
            for (index, (place, receiver)) in places.iter().zip(receivers).enumerate() {
                window.set(index, false);
                let result = (|| {
                    loop {
                        match receiver.recv() {
                            Ok(Ahead::Piece(piece)) => {
                                window.took(index);
                                take(place, piece)?
                            }
                            Ok(Ahead::End(result)) => return result,
                            Err(_) => anyhow::bail!("its reader stopped before the end"),
                        }
                    }
                })();
                match result {
                    Ok(result) => {
                        end(place, result);
                        read_any = true;
                    }
                    Err(err) if is_output_failure(&err) => return Err(err),
                    Err(err) => {
                        skipped(skipped_message(place, &err));
                        last_failure = Some(err);
                    }
                }
            }
            Ok(())
        })();
        window.set(places.len(), true);
        walk
    })?;
    match last_failure {
        Some(err) if !read_any => Err(err.context("no network namespace could be read")),
        _ => Ok(()),
    }
}

/// The walk under [`for_each_place`], for the readers that go on whatever fails
/// (`ct watch`'s namespaces made later, each scrape of `ct exporter`): runs `each` on
/// every place in turn; a place that fails is handed to `failed` with why, and the rest
/// go on. Only a failure of standard output ends the walk (it is returned). True when
/// some place was read.
pub fn visit_places(
    places: &[Place],
    mut failed: impl FnMut(&Place, anyhow::Error),
    mut each: impl FnMut(&Place) -> Result<()>,
) -> Result<bool> {
    let mut read_any = false;
    for place in places {
        match each(place) {
            Ok(()) => read_any = true,
            Err(err) if is_output_failure(&err) => return Err(err),
            Err(err) => failed(place, err),
        }
    }
    Ok(read_any)
}

/// What is said of a namespace [`visit_places`] skipped: `network namespace LABEL: WHY;
/// skipped`, LABEL as `--all-netns` tags its entries.
pub fn skipped_message(place: &Place, err: &anyhow::Error) -> String {
    let label = place.tag().map(Namespace::label).unwrap_or_default();
    format!("network namespace {label}: {err:#}; skipped")
}

/// Says on stderr that a namespace was skipped (see [`for_each_place`]).
pub fn report_skipped(message: String) {
    let _ = writeln!(Stderr, "{}{message}", crate::commands::prefix());
}

/// True when `err` is standard output's: a closed pipe or a full disk ends the command,
/// whichever namespace was being read.
fn is_output_failure(err: &anyhow::Error) -> bool {
    is_broken_pipe(err)
        || err.chain().any(|cause| {
            cause
                .downcast_ref::<io::Error>()
                .and_then(io::Error::get_ref)
                .is_some_and(|inner| inner.is::<StdoutError>())
        })
}

/// Standard output, buffered (whether it is a terminal, which wants every line as soon
/// as it is written, the plan says).
pub fn stdout() -> io::BufWriter<StdoutWriter> {
    io::BufWriter::with_capacity(64 * 1024, StdoutWriter(io::stdout().lock()))
}

/// The report of a command that changes the table (`ct delete`): its lines go to `out`
/// until a write fails (the reader went away, the disk is full); from then on they are
/// dropped and the first failure is kept, so that the change the report describes goes
/// on to its end instead of stopping half done. `finish` says whether the report was
/// cut short.
pub struct Report<W: Write> {
    out: W,
    failed: Option<io::Error>,
}

impl<W: Write> Report<W> {
    pub fn new(out: W) -> Report<W> {
        Report { out, failed: None }
    }

    /// False once a write has failed: lines need not be formatted any more.
    pub fn is_open(&self) -> bool {
        self.failed.is_none()
    }

    /// Flushes what is buffered; the write failure that cut the report short, if any.
    pub fn finish(mut self) -> Option<io::Error> {
        if self.failed.is_none() {
            let result = self.out.flush();
            self.note(result);
        }
        self.failed
    }

    fn note(&mut self, result: io::Result<()>) {
        if let Err(err) = result {
            self.failed = Some(err);
        }
    }
}

impl<W: Write> Write for Report<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failed.is_none() {
            let result = self.out.write_all(buf);
            self.note(result);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.failed.is_none() {
            let result = self.out.flush();
            self.note(result);
        }
        Ok(())
    }
}

/// Standard output whose write errors say they are standard output's ("cannot write to
/// standard output: No space left on device"), keeping their kind so that a closed pipe
/// is still recognised as one.
pub struct StdoutWriter(StdoutLock<'static>);

impl Write for StdoutWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(stdout_error)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(stdout_error)
    }
}

fn stdout_error(err: io::Error) -> io::Error {
    io::Error::new(err.kind(), StdoutError(err))
}

/// A write to standard output failed: its own type, so that `--all-netns` can tell it
/// from a namespace's failure (which skips that namespace) and stop.
#[derive(Debug)]
struct StdoutError(io::Error);

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write to standard output: {}", self.0)
    }
}

impl std::error::Error for StdoutError {}

/// Standard error for messages: a message that cannot be written (stderr full or
/// closed) is dropped, never turned into a failure or a panic. The exit status still
/// says how the command went.
pub struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stderr().flush();
        Ok(())
    }
}

/// The label map for `-o labels`. A missing or unreadable file is not fatal: conntrack
/// then prints no labels, and so does ct, after saying why.
pub fn load_labels(source: &LabelSource) -> Option<LabelMap> {
    match source {
        LabelSource::None => None,
        LabelSource::Map(map) => Some(map.clone()),
        LabelSource::FileIfPresent(path) => LabelMap::load(Path::new(path)).ok(),
        LabelSource::File(path) => match LabelMap::load(Path::new(path)) {
            Ok(map) => Some(map),
            Err(err) => {
                let _ = writeln!(
                    Stderr,
                    "{}cannot read label names from {path}: {err}; labels are not shown",
                    crate::commands::prefix()
                );
                None
            }
        },
    }
}

/// Opens the saved dump `--input` names, with the label names the plan says its
/// `labels=name,...` are read with.
pub fn open_saved(saved: &plan::Saved) -> Result<SavedDump> {
    SavedDump::open(&saved.path, load_labels(&saved.labels))
}

/// True when `err` comes from writing to a reader that went away (`ct list | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str) -> Place {
        let mut namespace = Namespace::named(name);
        namespace.inode = 7;
        Place {
            namespace: Some(namespace),
            tagged: true,
        }
    }

    #[test]
    fn a_walk_goes_on_past_a_namespace_that_fails_and_says_so() {
        let places = [place("a"), place("b"), place("c")];
        let mut read = Vec::new();
        let mut skipped = Vec::new();
        let result = visit_places(
            &places,
            |place, err| skipped.push(skipped_message(place, &err)),
            |place| {
                let label = place.tag().map(Namespace::label).unwrap_or_default();
                if label == "b" {
                    anyhow::bail!("vanished");
                }
                read.push(label);
                Ok(())
            },
        );
        assert!(result.unwrap());
        assert_eq!(read, ["a", "c"]);
        assert_eq!(skipped, ["network namespace b: vanished; skipped"]);
    }

    #[test]
    fn places_read_ahead_are_taken_in_order_whole_and_failures_skipped() {
        let places: Vec<Place> = ["a", "b", "c", "d"].map(place).into();
        // More pieces than may wait ahead, so that readers ahead have to wait.
        let pieces = 3 * PIECES_AHEAD;
        let mut taken: Vec<(String, usize)> = Vec::new();
        let mut ended = Vec::new();
        let mut skipped = Vec::new();
        let label = |place: &Place| place.tag().map(Namespace::label).unwrap_or_default();
        for_each_place_ahead(
            &places,
            |message| skipped.push(message),
            |place, hand_over| {
                for piece in 0..pieces {
                    if label(place) == "c" && piece == 7 {
                        anyhow::bail!("vanished");
                    }
                    hand_over(piece)?;
                }
                Ok(label(place))
            },
            |place, piece| {
                taken.push((label(place), piece));
                Ok(())
            },
            |_, result| ended.push(result),
        )
        .unwrap();
        let expected: Vec<(String, usize)> = ["a", "b", "c", "d"]
            .iter()
            .flat_map(|name| {
                let count = if *name == "c" { 7 } else { pieces };
                (0..count).map(|piece| (name.to_string(), piece))
            })
            .collect();
        assert_eq!(taken, expected);
        assert_eq!(ended, ["a", "b", "d"]);
        assert_eq!(skipped, ["network namespace c: vanished; skipped"]);
    }

    #[test]
    fn a_walk_stops_when_standard_output_fails() {
        let places = [place("a"), place("b")];
        let mut tried = 0;
        let result = visit_places(
            &places,
            |_, _| panic!("standard output's failure is no namespace's"),
            |_| {
                tried += 1;
                Err(stdout_error(io::Error::from(io::ErrorKind::StorageFull)).into())
            },
        );
        assert_eq!(tried, 1);
        assert!(result.is_err());
        assert!(
            !visit_places(&places, |_, _| {}, |_| anyhow::bail!("refused")).unwrap(),
            "nothing was read"
        );
    }
}
