//! `ct delete` and `ct flush`: exactly the entries `ct list` shows with the same filters.
//!
//! Two paths. By default the matching entries are dumped (with what of the filter the
//! kernel can apply) and each is deleted by its tuple, zone and id (so an entry made
//! again with the same tuple meanwhile is left alone; the kernel's own attributes are
//! sent back, with nothing to encode), many to a datagram, from a thread and a socket
//! of their own while the dump goes on. An entry already gone (ENOENT) is neither an
//! error nor counted, and an entry is printed once the kernel has acknowledged its
//! deletion: the lines and the count are exactly what the kernel deleted, however the
//! table changes meanwhile. With `--one-request` (and for `ct flush`, which reports
//! nothing), where `filter::flush` says the kernel applies the whole filter exactly,
//! one flush request (per family) deletes everything at once; the lines are the
//! entries that matched just before it, and entries that came to match after them go
//! too, unreported: its summary says so.
//!
//! The deletion is the command and the lines are its report: when standard output
//! fails (the reader went away, `| head -1`), the deletion goes on to its end, and the
//! count on stderr says what went. A closed pipe then still exits 0; any other write
//! failure exits 1 after the deletion. A dry run only reads, and stops at a closed pipe.

use std::io::{self, Write};
use std::sync::mpsc;

use anyhow::Result;

use super::{Report, Stderr, connect, load_labels, stdout};
use crate::decode::DecodeError;
use crate::filter::Filter;
use crate::filter::flush::Flush;
use crate::model::table::Table;
use crate::netlink::{Conntrack, DeleteBatch, Deletion, HeldExpectation};
use crate::output::{Frame, Print, Printer, Record, Settings, unix_now_seconds};
use crate::plan::{self, Output, Target};

/// Deletions sent per batch: one datagram of requests, their acknowledgements
/// collected before the next.
const BATCH: usize = 256;

/// What a deletion did.
#[derive(Default)]
struct Deleted {
    /// How many entries the kernel deleted (or, in a dry run, would delete).
    count: u64,
    /// What stopped the deletion part way, after `count` entries went.
    failure: Option<anyhow::Error>,
    /// The write that cut the printed report short, if one failed; the deletion went on.
    output: Option<io::Error>,
    /// Whether one flush request deleted, its count being what matched just before.
    one_request: bool,
}

impl Deleted {
    /// The failure that stopped the deletion, if any: for `ct flush`, which reports no
    /// count.
    fn succeeded(self) -> Result<()> {
        self.failure.map_or(Ok(()), Err)
    }

    /// Counts and prints what a batch of deletions did (while the report is open), and
    /// keeps the first failure.
    fn absorb<W: Write>(
        &mut self,
        batch: Result<DeletedBatch>,
        printer: &mut Option<Printer<'_>>,
        out: &mut Report<W>,
    ) {
        let failure = match batch.and_then(|batch| batch.print(printer, out)) {
            Ok((count, failure)) => {
                self.count += count;
                failure
            }
            Err(err) => Some(err),
        };
        if self.failure.is_none() {
            self.failure = failure;
        }
    }
}

pub fn run(plan: plan::Delete) -> Result<()> {
    let plan::Delete {
        target,
        table,
        filter,
        output,
        one_request,
        dry_run,
    } = plan;
    let expectations = table.holds_expectations();
    let deleted = if expectations {
        delete_expectations(&target, &filter, &output, dry_run, true)?
    } else {
        delete_entries(&target, &filter, &output, one_request, dry_run, true)?
    };
    let what = if expectations {
        "expectations"
    } else {
        "flow entries"
    };
    report(deleted, what, dry_run, output.quiet)
}

/// `ct flush`: the whole table in one request, or one family's entries.
pub fn flush(plan: plan::Flush) -> Result<()> {
    let plan::Flush {
        target,
        table,
        family,
        filter,
        output,
        one_request,
        expectations_at_once,
        dry_run,
    } = plan;
    let expectations = table.holds_expectations();
    let (table_name, what) = if expectations {
        ("expectation table", "expectations")
    } else {
        ("connection tracking table", "flow entries")
    };
    if dry_run {
        let would = if expectations {
            delete_expectations(&target, &filter, &output, true, true)?
        } else {
            delete_entries(&target, &filter, &output, one_request, true, true)?
        };
        // Unlike a delete, a flush that finds nothing is no failure (conntrack -F).
        match report(would, what, true, output.quiet) {
            Err(err) if err.is::<NothingMatched>() => return Ok(()),
            other => return other,
        }
    }
    if !expectations {
        // conntrack -F prints nothing on stdout.
        delete_entries(&target, &filter, &output, one_request, false, false)?.succeeded()?;
    } else if expectations_at_once {
        connect(&target)?.flush_expectations()?;
    } else {
        delete_expectations(&target, &filter, &output, false, false)?.succeeded()?;
    }
    let scope = match family {
        None => String::new(),
        Some(family) => format!(" of {} entries", family.name()),
    };
    // conntrack's words, and the family when there was one.
    if !output.quiet {
        let _ = writeln!(
            Stderr,
            "{}{table_name} has been emptied{scope}.",
            crate::commands::prefix()
        );
    }
    Ok(())
}

/// "ct: N flow entries have been deleted." (or "would be deleted"), and the exit
/// status conntrack's scripts rely on: 1 when nothing was (or would be) deleted. A
/// report cut short by a closed pipe is no failure (the deletion went to its end);
/// one cut short otherwise (a full disk) is, once the count is said.
fn report(deleted: Deleted, what: &str, dry_run: bool, quiet: bool) -> Result<()> {
    let Deleted {
        count,
        failure,
        output,
        one_request,
    } = deleted;
    // A failure before anything went says only what failed.
    if !quiet && (failure.is_none() || count > 0) {
        let _ = if dry_run {
            writeln!(
                Stderr,
                "{}{count} {what} would be deleted.",
                crate::commands::prefix()
            )
        } else if failure.is_some() {
            writeln!(
                Stderr,
                "{}{count} {what} have been deleted before a failure stopped the deletion.",
                crate::commands::prefix()
            )
        } else if one_request {
            writeln!(
                Stderr,
                "{}{count} {what} matched; one flush request deleted them and any that \
                 matched after them, unlisted.",
                crate::commands::prefix()
            )
        } else {
            writeln!(
                Stderr,
                "{}{count} {what} have been deleted.",
                crate::commands::prefix()
            )
        };
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    match output {
        Some(err) if err.kind() != io::ErrorKind::BrokenPipe => {
            return Err(
                anyhow::Error::new(err).context(format!("the deleted {what} were not all listed"))
            );
        }
        _ => {}
    }
    if count == 0 {
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
/// `print`.
fn delete_entries(
    target: &Target,
    filter: &Filter,
    output: &Output,
    one_request: Option<Flush>,
    dry_run: bool,
    print: bool,
) -> Result<Deleted> {
    let labels = load_labels(&output.labels);
    let mut out = stdout();
    // With -o save a dry run writes the commands that would delete (conntrack -R).
    let mut printer = print.then(|| {
        Printer::new(
            &output.format,
            Settings {
                labels: labels.as_ref(),
                now: unix_now_seconds(),
                ..Settings::default()
            },
        )
        .for_deleted()
    });
    let mut dumper = connect(target)?;
    if dry_run {
        // Only reading, as `ct list`: a closed pipe ends it.
        let count = show_matching(&mut dumper, filter, &mut printer, &mut out)?;
        out.flush()?;
        return Ok(Deleted {
            count,
            ..Deleted::default()
        });
    }
    let mut report = Report::new(out);
    let deleted = match one_request {
        Some(flush) => {
            // What is about to go, for the lines and the count (a flush reports
            // neither), held until the kernel has taken the flush.
            let mut listing = Vec::new();
            let count = if print {
                show_matching(&mut dumper, filter, &mut printer, &mut listing)?
            } else {
                0
            };
            if count > 0 || !print {
                dumper.flush(&flush)?;
            }
            report.write_all(&listing)?;
            Deleted {
                count,
                one_request: true,
                ..Deleted::default()
            }
        }
        None => {
            // The second socket in the same namespace as the first.
            let deleter = connect(target)?;
            delete_one_by_one(&mut dumper, deleter, filter, &mut printer, &mut report)
        }
    };
    Ok(Deleted {
        output: report.finish(),
        ..deleted
    })
}

/// Dumps what `filter` matches and prints it: what a dry run shows, and the list of
/// what one flush request is about to delete. Returns how many matched.
fn show_matching<W: Write>(
    conntrack: &mut Conntrack,
    filter: &Filter,
    printer: &mut Option<Printer<'_>>,
    out: &mut W,
) -> Result<u64> {
    let mut shown = 0;
    conntrack.entries(
        Table::Conntrack,
        filter,
        |entry, _| {
            if let Some(printer) = printer {
                printer.print(out, Record::Entry(entry), &Frame::NONE)?;
            }
            shown += 1;
            Ok(())
        },
        left_alone,
    )?;
    if let Some(printer) = printer.take().as_mut() {
        printer.finish(out)?;
    }
    Ok(shown)
}

/// What a deletion says of an entry the kernel sent that cannot be decoded: it is
/// left alone, and the deletion goes on.
fn left_alone(err: DecodeError) -> Result<()> {
    writeln!(
        Stderr,
        "{}left alone an entry the kernel sent: {err}",
        crate::commands::prefix()
    )?;
    Ok(())
}

/// The per-entry path. Three things overlap on two cores: the kernel's dump (the
/// receive thread of `Conntrack::dump`), the filter in this thread, and the kernel's
/// deletions, sent in batches from a thread of their own over a second socket. Each
/// batch comes back with what the kernel deleted, and is printed here. A failure stops
/// the dump; what was deleted before it is still printed and counted.
fn delete_one_by_one<W: Write>(
    dumper: &mut Conntrack,
    mut deleter: Conntrack,
    filter: &Filter,
    printer: &mut Option<Printer<'_>>,
    out: &mut Report<W>,
) -> Deleted {
    let mut deleted = Deleted::default();
    std::thread::scope(|scope| {
        let (to_delete, batches) = mpsc::sync_channel::<DeleteBatch>(2);
        let (to_print, done) = mpsc::channel::<Result<DeletedBatch>>();
        scope.spawn(move || {
            for batch in batches {
                let result = DeletedBatch::send(batch, &mut deleter);
                let failed = result.is_err();
                if to_print.send(result).is_err() || failed {
                    return;
                }
            }
        });
        let mut batch = DeleteBatch::default();
        let dumped = dumper.entries(
            Table::Conntrack,
            filter,
            |_, dumped| {
                // Once the report is cut short, only the deletion needs the entry.
                batch.add(dumped, printer.is_some() && out.is_open());
                if batch.len() >= BATCH {
                    send_or_fail(&to_delete, std::mem::take(&mut batch))?;
                    while let Ok(result) = done.try_recv() {
                        deleted.absorb(result, printer, out);
                    }
                    if deleted.failure.is_some() {
                        return Err(anyhow::anyhow!("the deletion stopped"));
                    }
                }
                Ok(())
            },
            left_alone,
        );
        let last = match dumped {
            Ok(_) if !batch.is_empty() => send_or_fail(&to_delete, batch),
            other => other.map(|_| ()),
        };
        drop(to_delete);
        for result in done {
            deleted.absorb(result, printer, out);
        }
        if let (Err(err), None) = (last, &deleted.failure) {
            deleted.failure = Some(err);
        }
    });
    if let Some(printer) = printer {
        if let Err(err) = printer.finish(out) {
            deleted.failure.get_or_insert(err.into());
        }
    }
    deleted
}

/// Hands `batch` to the deleting thread; if that thread has stopped, its error is
/// among what it sent back, and this says only that it stopped.
fn send_or_fail(to_delete: &mpsc::SyncSender<DeleteBatch>, batch: DeleteBatch) -> Result<()> {
    to_delete
        .send(batch)
        .map_err(|_| anyhow::anyhow!("the deleting thread stopped"))
}

/// A batch the kernel has seen: what it answered each deletion.
struct DeletedBatch {
    batch: DeleteBatch,
    answers: Vec<Deletion>,
}

impl DeletedBatch {
    /// Sends the deletions and collects every answer, refusals included, so that what
    /// the kernel did delete is known even when it refused some.
    fn send(batch: DeleteBatch, deleter: &mut Conntrack) -> Result<DeletedBatch> {
        let answers = deleter.delete_entries(&batch)?;
        Ok(DeletedBatch { batch, answers })
    }

    /// Prints the entries the kernel deleted (while the report is open); returns how
    /// many, and the first refusal. An entry already gone (ENOENT: timed out, or deleted
    /// by someone else meanwhile) is not ours, and no failure.
    fn print<W: Write>(
        self,
        printer: &mut Option<Printer<'_>>,
        out: &mut Report<W>,
    ) -> Result<(u64, Option<anyhow::Error>)> {
        let mut deleted = 0;
        let mut refused = None;
        for (index, answer) in self.answers.into_iter().enumerate() {
            match answer {
                Deletion::Deleted => {}
                Deletion::AlreadyGone => continue,
                Deletion::Refused(errno) => {
                    refused.get_or_insert(errno);
                    continue;
                }
            }
            deleted += 1;
            if let Some(printer) = printer.as_mut().filter(|_| out.is_open()) {
                if let Some(entry) = self.batch.entry(index) {
                    printer.print(out, Record::Entry(&entry?), &Frame::NONE)?;
                }
            }
        }
        let refused = refused.map(Deletion::refusal);
        Ok((deleted, refused))
    }
}

/// Deletes (or with `dry_run` only shows) the expectations `filter` matches, one by one
/// (by tuple and id); prints them when `print`.
fn delete_expectations(
    target: &Target,
    filter: &Filter,
    output: &Output,
    dry_run: bool,
    print: bool,
) -> Result<Deleted> {
    let mut dumper = connect(target)?;
    let mut found: Vec<HeldExpectation> = Vec::new();
    dumper.expectations(
        filter,
        |_, dumped| {
            found.push(dumped.hold());
            Ok(())
        },
        // An undecodable expectation is left alone; `ct list expect` says why.
        |_| Ok(()),
    )?;
    let mut out = stdout();
    let mut printer =
        print.then(|| Printer::new(&output.format, super::expect::expectation_settings(output)));
    if dry_run {
        // Only reading, as `ct list expect`: a closed pipe ends it.
        for held in &found {
            if let Some(printer) = &mut printer {
                let expectation = held.expectation()?;
                printer.print(&mut out, Record::Expectation(&expectation), &Frame::NONE)?;
            }
        }
        if let Some(printer) = &mut printer {
            printer.finish(&mut out)?;
        }
        out.flush()?;
        return Ok(Deleted {
            count: found.len() as u64,
            ..Deleted::default()
        });
    }
    let mut report = Report::new(out);
    let mut deleted = Deleted::default();
    for held in &found {
        let expectation = held.expectation()?;
        match dumper.delete_expectation(&expectation) {
            Ok(true) => deleted.count += 1,
            Ok(false) => continue,
            Err(err) => {
                deleted.failure = Some(err);
                break;
            }
        }
        if let Some(printer) = printer.as_mut().filter(|_| report.is_open()) {
            printer.print(&mut report, Record::Expectation(&expectation), &Frame::NONE)?;
        }
    }
    if let Some(printer) = &mut printer {
        printer.finish(&mut report)?;
    }
    Ok(Deleted {
        output: report.finish(),
        ..deleted
    })
}
