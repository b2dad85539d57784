//! `ct delete` and `ct flush`: exactly the entries `ct list` shows with the same filters.
//!
//! Two paths, chosen by `netlink::flush`. Where the kernel applies the whole filter
//! exactly and is known to, one flush request (per family) deletes everything at once;
//! the entries it is about to delete are first dumped with the same filter, for the
//! lines and the count. Everywhere else, the matching entries are dumped (with what of
//! the filter the kernel can apply) and each is deleted by its tuple, zone and id (so
//! an entry made again with the same tuple meanwhile is left alone; the kernel's own
//! attributes are sent back, with nothing to encode), many to a datagram, from a thread
//! and a socket of their own while the dump goes on. An entry already gone (ENOENT)
//! is neither an error nor counted. An entry is printed once the kernel has deleted it.

use std::io::Write;
use std::ops::Range;
use std::sync::mpsc;

use anyhow::Result;

use super::{Stderr, connect, load_labels, stdout};
use crate::cli::{CountTableArg, DeleteArgs, DeleteModeArgs, FamilyArg, FlushArgs};
use crate::decode::{decode_entry, expect::decode_expectation};
use crate::filter::Filter;
use crate::kernel::*;
use crate::model::entry::Entry;
use crate::model::expect::Expectation;
use crate::netlink::attributes::{be32, copy_raw, expect_tuple};
use crate::netlink::flush::{self, KernelRelease};
use crate::netlink::message::kernel_error;
use crate::netlink::{Conntrack, Message, Request, kernel_errno};
use crate::output::{ExpectPrinter, Printer, unix_now_seconds};
use crate::plan::{self, Output, Target, UsageError};

/// Deletions sent per batch: one datagram of requests, their acknowledgements
/// collected before the next.
const BATCH: usize = 256;

/// How the user asked to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    /// One flush request where it is exact and safe, else entry by entry.
    Auto,
    PerEntry,
    OneRequest,
}

impl Path {
    fn from_args(args: &DeleteModeArgs) -> Path {
        match (args.per_entry, args.one_request) {
            (true, _) => Path::PerEntry,
            (_, true) => Path::OneRequest,
            _ => Path::Auto,
        }
    }
}

pub fn run(args: &DeleteArgs) -> Result<()> {
    let target = Target::from_args(&args.target)?;
    let (filter, label_map) = plan::filter(&args.filter)?;
    let output = Output::from_args(&args.output, label_map)?;
    let path = Path::from_args(&args.delete);
    let dry_run = args.delete.dry_run;
    let deleted = match args.table {
        CountTableArg::Conntrack => delete_entries(&target, &filter, &output, path, dry_run, true)?,
        CountTableArg::Expect => {
            super::expect::check_filter(&filter)?;
            super::expect::check_format(&output.format)?;
            refuse_one_request_for_expectations(path)?;
            delete_expectations(&target, &filter, &output, dry_run, true)?
        }
    };
    let what = match args.table {
        CountTableArg::Conntrack => "flow entries",
        CountTableArg::Expect => "expectations",
    };
    report(deleted, what, dry_run, output.quiet)
}

/// `ct flush`: the whole table in one request, or one family's entries.
pub fn flush(args: &FlushArgs) -> Result<()> {
    crate::plan::check_flush_output(args)?;
    let target = Target::from_args(&args.target)?;
    let output = Output::from_args(&args.output, None)?;
    let path = Path::from_args(&args.delete);
    let dry_run = args.delete.dry_run;
    let filter = Filter {
        family: args.family.map(|family| match family {
            FamilyArg::Ipv4 => AF_INET,
            FamilyArg::Ipv6 => AF_INET6,
        }),
        ..Filter::default()
    };
    let (table, what) = match args.table {
        CountTableArg::Conntrack => ("connection tracking table", "flow entries"),
        CountTableArg::Expect => ("expectation table", "expectations"),
    };
    if dry_run {
        let would = match args.table {
            CountTableArg::Conntrack => {
                delete_entries(&target, &filter, &output, path, true, true)?
            }
            CountTableArg::Expect => delete_expectations(&target, &filter, &output, true, true)?,
        };
        // Unlike a delete, a flush that finds nothing is no failure (conntrack -F).
        match report(would, what, true, output.quiet) {
            Err(err) if err.is::<NothingMatched>() => return Ok(()),
            other => return other,
        }
    }
    match args.table {
        // conntrack -F prints nothing on stdout.
        CountTableArg::Conntrack => {
            delete_entries(&target, &filter, &output, path, false, false)?;
        }
        CountTableArg::Expect if filter.family.is_none() && path != Path::PerEntry => {
            let mut conntrack = connect(&target)?;
            let request = Request::single(
                NFNL_SUBSYS_CTNETLINK_EXP,
                IPCTNL_MSG_EXP_DELETE,
                AF_UNSPEC,
                Vec::new(),
                "the expectation flush",
            );
            conntrack.request(&request, |_| Ok(()))?;
        }
        CountTableArg::Expect => {
            refuse_one_request_for_expectations(path)?;
            delete_expectations(&target, &filter, &output, false, false)?;
        }
    }
    let scope = match args.family {
        None => String::new(),
        Some(FamilyArg::Ipv4) => " of ipv4 entries".into(),
        Some(FamilyArg::Ipv6) => " of ipv6 entries".into(),
    };
    // conntrack's words, and the family when there was one.
    if !output.quiet {
        let _ = writeln!(Stderr, "ct: {table} has been emptied{scope}.");
    }
    Ok(())
}

fn refuse_one_request_for_expectations(path: Path) -> Result<(), UsageError> {
    match path {
        Path::OneRequest => Err(UsageError(
            "--one-request deletes entries by a filter; expectations go one by one".into(),
        )),
        _ => Ok(()),
    }
}

/// "ct: N flow entries have been deleted." (or "would be deleted"), and the exit
/// status conntrack's scripts rely on: 1 when nothing was (or would be) deleted.
fn report(deleted: u64, what: &str, dry_run: bool, quiet: bool) -> Result<()> {
    if !quiet {
        let verb = if dry_run {
            "would be deleted"
        } else {
            "have been deleted"
        };
        let _ = writeln!(Stderr, "ct: {deleted} {what} {verb}.");
    }
    if deleted == 0 {
        return Err(NothingMatched.into());
    }
    Ok(())
}

/// Nothing matched: exit status 1 and nothing more said (the summary said it).
#[derive(Debug)]
pub struct NothingMatched;

impl std::fmt::Display for NothingMatched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("nothing matched")
    }
}

impl std::error::Error for NothingMatched {}

/// Deletes (or with `dry_run` only shows) the entries `filter` matches; prints them when
/// `print`. Returns how many were deleted.
fn delete_entries(
    target: &Target,
    filter: &Filter,
    output: &Output,
    path: Path,
    dry_run: bool,
    print: bool,
) -> Result<u64> {
    let one_request = match (path, KernelRelease::running()) {
        (Path::PerEntry, _) | (_, None) => None,
        (_, Some(release)) => flush::requests(filter, release),
    };
    if path == Path::OneRequest && one_request.is_none() {
        return Err(UsageError(
            "--one-request: the kernel cannot delete by this filter in one request (it \
             matches prefixes, IPv6 addresses, zones, states, NAT or labels only in ct, or \
             this kernel is older than the one that honours it); leave it out to delete \
             entry by entry"
                .into(),
        )
        .into());
    }
    let labels = load_labels(&output.labels);
    let (mut out, terminal) = stdout();
    // With -o save a dry run writes the commands that would delete (conntrack -R).
    let mut printer = print.then(|| {
        Printer::new(
            &output.format,
            labels.as_ref(),
            unix_now_seconds(),
            terminal,
        )
        .for_deleted()
    });
    let mut dumper = connect(target)?;
    let deleted = match one_request {
        Some(requests) if !dry_run => {
            // What is about to go, for the lines and the count; a flush reports neither.
            let shown = if print {
                show_matching(&mut dumper, filter, &mut printer, &mut out)?
            } else {
                0
            };
            for request in &requests {
                dumper.request(request, |_| Ok(()))?;
            }
            shown
        }
        _ if dry_run => show_matching(&mut dumper, filter, &mut printer, &mut out)?,
        _ => {
            let deleter = Conntrack::open(target.socket_buffer)?;
            delete_one_by_one(&mut dumper, deleter, filter, &mut printer, &mut out)?
        }
    };
    if let Some(printer) = &mut printer {
        printer.finish(&mut out)?;
    }
    out.flush()?;
    Ok(deleted)
}

/// Dumps what `filter` matches and prints it: what a dry run shows, and the list of what
/// one flush request is about to delete.
fn show_matching<W: Write>(
    conntrack: &mut Conntrack,
    filter: &Filter,
    printer: &mut Option<Printer<'_>>,
    out: &mut W,
) -> Result<u64> {
    let mut shown = 0;
    conntrack.dump_entries(filter, |message| {
        if let Some(entry) = matching_entry(&message, filter)? {
            if let Some(printer) = printer {
                printer.print(out, &entry)?;
            }
            shown += 1;
        }
        Ok(())
    })?;
    Ok(shown)
}

/// The entry of a dump message, if it passes the filter; an entry that cannot be
/// decoded is reported and left alone.
fn matching_entry<'m>(message: &Message<'m>, filter: &Filter) -> Result<Option<Entry<'m>>> {
    if !message.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW) {
        return Ok(None);
    }
    match decode_entry(message.family, message.attributes) {
        Ok(entry) if filter.matches(&entry) => Ok(Some(entry)),
        Ok(_) => Ok(None),
        Err(err) => {
            writeln!(Stderr, "ct: left alone an entry the kernel sent: {err}")?;
            Ok(None)
        }
    }
}

/// The per-entry path. Three things overlap on two cores: the kernel's dump (the
/// receive thread of `Conntrack::dump`), the filter in this thread, and the kernel's
/// deletions, sent in batches from a thread of their own over a second socket. Each
/// batch comes back with what the kernel deleted, and is printed here.
fn delete_one_by_one<W: Write>(
    dumper: &mut Conntrack,
    mut deleter: Conntrack,
    filter: &Filter,
    printer: &mut Option<Printer<'_>>,
    out: &mut W,
) -> Result<u64> {
    std::thread::scope(|scope| {
        let (to_delete, batches) = mpsc::sync_channel::<EntryBatch>(2);
        let (to_print, done) = mpsc::channel::<Result<DeletedBatch>>();
        scope.spawn(move || {
            for batch in batches {
                let result = batch.send(&mut deleter);
                let failed = result.is_err();
                if to_print.send(result).is_err() || failed {
                    return;
                }
            }
        });
        let mut deleted = 0;
        let mut batch = EntryBatch::default();
        dumper.dump_entries(filter, |message| {
            if matching_entry(&message, filter)?.is_none() {
                return Ok(());
            }
            batch.add(&message);
            if batch.len() >= BATCH {
                send_or_fail(&to_delete, &done, std::mem::take(&mut batch))?;
                while let Ok(result) = done.try_recv() {
                    deleted += result?.print(printer, out)?;
                }
            }
            Ok(())
        })?;
        if batch.len() > 0 {
            send_or_fail(&to_delete, &done, batch)?;
        }
        drop(to_delete);
        for result in done {
            deleted += result?.print(printer, out)?;
        }
        Ok(deleted)
    })
}

/// Hands `batch` to the deleting thread; if that thread has stopped, its error.
fn send_or_fail(
    to_delete: &mpsc::SyncSender<EntryBatch>,
    done: &mpsc::Receiver<Result<DeletedBatch>>,
    batch: EntryBatch,
) -> Result<()> {
    if to_delete.send(batch).is_ok() {
        return Ok(());
    }
    match done.recv() {
        Ok(Err(err)) => Err(err),
        _ => Err(anyhow::anyhow!("the deleting thread stopped")),
    }
}

/// Entries waiting to be deleted: the attributes of their delete requests, copied from
/// the dump, and their attributes as dumped, to print those the kernel deleted.
#[derive(Default)]
struct EntryBatch {
    /// Each request's family and span in `requests`.
    request_spans: Vec<(u8, Range<usize>)>,
    requests: Vec<u8>,
    /// Each entry's family and span in `dumped`.
    entry_spans: Vec<(u8, Range<usize>)>,
    dumped: Vec<u8>,
}

/// A batch the kernel has seen: which of its entries were already gone.
struct DeletedBatch {
    batch: EntryBatch,
    gone: Vec<bool>,
}

impl EntryBatch {
    fn len(&self) -> usize {
        self.request_spans.len()
    }

    /// Queues the deletion of the entry `message` carries: by its original tuple, its
    /// zone and its id, the kernel's own attributes copied, so that only this very entry
    /// goes.
    fn add(&mut self, message: &Message<'_>) {
        let start = self.requests.len();
        copy_raw(
            message.attributes,
            &[CTA_TUPLE_ORIG, CTA_ZONE, CTA_ID],
            &mut self.requests,
        );
        self.request_spans
            .push((message.family, start..self.requests.len()));
        let start = self.dumped.len();
        self.dumped.extend_from_slice(message.attributes);
        self.entry_spans
            .push((message.family, start..self.dumped.len()));
    }

    /// Sends the deletions; an entry already gone (ENOENT) is noted, not an error.
    fn send(self, deleter: &mut Conntrack) -> Result<DeletedBatch> {
        let requests: Vec<(u8, &[u8])> = self
            .request_spans
            .iter()
            .map(|(family, span)| (*family, &self.requests[span.clone()]))
            .collect();
        let mut gone = vec![false; requests.len()];
        deleter.send_raw_batch(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_DELETE,
            "the deletion of an entry",
            &requests,
            |index, errno| {
                if errno == libc::ENOENT {
                    // Gone meanwhile (timed out, or deleted by someone else): not ours.
                    gone[index] = true;
                    return Ok(());
                }
                Err(kernel_error(errno, "the deletion of an entry"))
            },
        )?;
        Ok(DeletedBatch { batch: self, gone })
    }
}

impl DeletedBatch {
    /// Prints the entries the kernel deleted; returns how many.
    fn print<W: Write>(self, printer: &mut Option<Printer<'_>>, out: &mut W) -> Result<u64> {
        let mut deleted = 0;
        for ((family, span), gone) in self.batch.entry_spans.iter().zip(self.gone) {
            if gone {
                continue;
            }
            deleted += 1;
            if let Some(printer) = printer {
                let entry = decode_entry(*family, &self.batch.dumped[span.clone()])?;
                printer.print(out, &entry)?;
            }
        }
        Ok(deleted)
    }
}

/// Deletes (or with `dry_run` only shows) the expectations `filter` matches, one by one
/// (by tuple and id); prints them when `print`. Returns how many were deleted.
fn delete_expectations(
    target: &Target,
    filter: &Filter,
    output: &Output,
    dry_run: bool,
    print: bool,
) -> Result<u64> {
    let mut dumper = connect(target)?;
    let mut found: Vec<(u8, Vec<u8>)> = Vec::new();
    super::expect::dump(&mut dumper, filter, |message| {
        if decode_expectation(message.family, message.attributes)
            .is_ok_and(|expectation| filter.matches_expectation(&expectation))
        {
            found.push((message.family, message.attributes.to_vec()));
        }
        Ok(())
    })?;
    let (mut out, _) = stdout();
    let mut printer = print.then(|| ExpectPrinter::new(&output.format, output.timestamp));
    let mut deleted = 0;
    for (family, attributes) in &found {
        let expectation = decode_expectation(*family, attributes)?;
        if !dry_run && !delete_expectation(&mut dumper, *family, &expectation)? {
            continue;
        }
        deleted += 1;
        if let Some(printer) = &mut printer {
            printer.print(&mut out, &expectation)?;
        }
    }
    if let Some(printer) = &mut printer {
        printer.finish(&mut out)?;
    }
    out.flush()?;
    Ok(deleted)
}

/// Deletes one expectation; false when it was already gone.
fn delete_expectation(
    conntrack: &mut Conntrack,
    family: u8,
    expectation: &Expectation<'_>,
) -> Result<bool> {
    let mut attributes = vec![expect_tuple(&expectation.expected)];
    attributes.extend(expectation.id.map(|id| be32(CTA_EXPECT_ID, id)));
    let request = Request::single(
        NFNL_SUBSYS_CTNETLINK_EXP,
        IPCTNL_MSG_EXP_DELETE,
        family,
        attributes,
        "the deletion of an expectation",
    );
    match conntrack.request(&request, |_| Ok(())) {
        Ok(_) => Ok(true),
        Err(err) if kernel_errno(&err) == Some(libc::ENOENT) => Ok(false),
        Err(err) => Err(err),
    }
}
