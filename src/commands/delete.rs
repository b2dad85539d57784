//! `ct delete` and `ct flush`: exactly the entries `ct list` shows with the same filters.
//!
//! Two paths, chosen by `netlink::flush`. Where the kernel applies the whole filter
//! exactly and is known to, one flush request (per family) deletes everything at once;
//! the entries it is about to delete are first dumped with the same filter, for the
//! lines and the count. Everywhere else, the matching entries are dumped (with what of
//! the filter the kernel can apply) and each is deleted by its tuple, zone and id (so
//! an entry made again with the same tuple meanwhile is left alone), many to a
//! datagram, on a second socket while the dump goes on. An entry already gone (ENOENT)
//! is neither an error nor counted. An entry is printed once the kernel has deleted it.

use std::io::Write;
use std::ops::Range;

use anyhow::Result;

use super::{Stderr, connect, load_labels, stdout};
use crate::cli::{CountTableArg, DeleteArgs, DeleteModeArgs, FamilyArg, FlushArgs};
use crate::decode::{decode_entry, expect::decode_expectation};
use crate::filter::Filter;
use crate::kernel::*;
use crate::model::entry::Entry;
use crate::model::expect::Expectation;
use crate::netlink::attributes::{be16, be32, expect_tuple, tuple};
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
        return report(would, what, true, output.quiet).or(Ok(()));
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
    let _ = writeln!(Stderr, "ct: {table} has been emptied{scope}.");
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
    // A flush of the whole table needs no list of what it deletes, unless printed.
    let deleted = match one_request {
        Some(requests) if !dry_run && !print && filter == &Filter::default() => {
            for request in &requests {
                dumper.request(request, |_| Ok(()))?;
            }
            0
        }
        Some(requests) if !dry_run => {
            let shown = show_matching(&mut dumper, filter, &mut printer, &mut out)?;
            for request in &requests {
                dumper.request(request, |_| Ok(()))?;
            }
            shown
        }
        _ if dry_run => show_matching(&mut dumper, filter, &mut printer, &mut out)?,
        _ => {
            // The deletions go over a second socket, while the dump goes on.
            let mut deleter = Conntrack::open(target.socket_buffer)?;
            let mut batch = EntryBatch::default();
            dumper.dump_entries(filter, |message| {
                let Some(entry) = matching_entry(&message, filter)? else {
                    return Ok(());
                };
                batch.add(&message, &entry);
                if batch.len() >= BATCH {
                    batch.delete(&mut deleter, &mut printer, &mut out)?;
                }
                Ok(())
            })?;
            batch.delete(&mut deleter, &mut printer, &mut out)?;
            batch.deleted
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

/// Entries waiting to be deleted: their delete requests, and their attributes as
/// dumped, to print those the kernel deleted.
#[derive(Default)]
struct EntryBatch {
    requests: Vec<Request>,
    attributes: Vec<u8>,
    entries: Vec<(u8, Range<usize>)>,
    deleted: u64,
}

impl EntryBatch {
    fn len(&self) -> usize {
        self.requests.len()
    }

    /// Queues the deletion of `entry`: by its original tuple, its zone, and its id, so
    /// that only this very entry goes.
    fn add(&mut self, message: &Message<'_>, entry: &Entry<'_>) {
        let mut attributes = vec![tuple(CTA_TUPLE_ORIG, &entry.original, entry.original.zone)];
        attributes.extend(entry.zone.map(|zone| be16(CTA_ZONE, zone)));
        attributes.extend(entry.id.map(|id| be32(CTA_ID, id)));
        self.requests.push(Request::single(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_DELETE,
            message.family,
            attributes,
            "the deletion of an entry",
        ));
        let start = self.attributes.len();
        self.attributes.extend_from_slice(message.attributes);
        self.entries
            .push((message.family, start..self.attributes.len()));
    }

    /// Sends the queued deletions and prints the entries the kernel deleted.
    fn delete<W: Write>(
        &mut self,
        deleter: &mut Conntrack,
        printer: &mut Option<Printer<'_>>,
        out: &mut W,
    ) -> Result<()> {
        let mut gone = vec![false; self.requests.len()];
        deleter.send_batch(&self.requests, |index, errno| {
            if errno == libc::ENOENT {
                // Gone meanwhile (timed out, or deleted by someone else): not ours.
                gone[index] = true;
                return Ok(());
            }
            Err(kernel_error(errno, "the deletion of an entry"))
        })?;
        for ((family, range), gone) in self.entries.iter().zip(gone) {
            if gone {
                continue;
            }
            self.deleted += 1;
            if let Some(printer) = printer {
                let entry = decode_entry(*family, &self.attributes[range.clone()])?;
                printer.print(out, &entry)?;
            }
        }
        self.requests.clear();
        self.attributes.clear();
        self.entries.clear();
        Ok(())
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
