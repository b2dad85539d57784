//! `ct update`: the entries `ct list` shows with the same filters, changed (mark, labels,
//! timeout, status) and printed as the kernel has them afterwards.
//!
//! As `ct delete` does, the matching entries are dumped (with what of the filter the
//! kernel can apply) and updated by their tuple and zone, many to a datagram, from a
//! thread and a socket of their own while the dump goes on; each updated entry is then
//! read back by tuple, zone and id and printed. The kernel does not check CTA_ID on an
//! update (ctnetlink_new_conntrack looks the entry up by tuple and zone alone), so an
//! entry deleted and made again with the same tuple between the dump and the update is
//! updated in its place: the read back by id then finds nothing, and ct says so instead
//! of counting it. An entry already gone (ENOENT) is skipped and not counted; one the
//! kernel refuses is reported with why, not counted, and makes the exit status 1.
//!
//! In conntrack's mode (`-U`) an entry the changes would leave as it is is not sent and
//! not counted, as conntrack does (plan::Update::skip_unchanged); `ct update` sends and
//! counts it, as the kernel acknowledges it.
//!
//! The update is the command and the lines are its report: when standard output fails
//! (a closed pipe), the updates go on to their end, and the count on stderr says what
//! changed. A dry run only reads, and stops at a closed pipe.

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::mpsc;

use anyhow::Result;

use super::delete::NothingMatched;
use super::{Report, Stderr, connect, load_labels, prefix, stdout};
use crate::decode::DecodeError;
use crate::filter::Filter;
use crate::model::entry::{L4, Tuple, protocol_text};
use crate::model::table::Table;
use crate::model::update::Changes;
use crate::netlink::{Conntrack, Update, UpdateBatch};
use crate::output::{Frame, Print, Printer, Record, Settings, unix_now_seconds};
use crate::plan;

/// Updates sent per batch: one datagram of requests, their acknowledgements collected
/// before the reads back.
const BATCH: usize = 256;

/// What the updates did.
#[derive(Default)]
struct Updated {
    /// Entries the kernel updated and that were read back (or, in a dry run, would be
    /// updated).
    count: u64,
    /// Entries the kernel refused.
    refused: u64,
    /// What stopped the updates part way.
    failure: Option<anyhow::Error>,
    /// The write that cut the printed report short, if one failed.
    output: Option<io::Error>,
}

pub fn run(plan: plan::Update) -> Result<()> {
    let plan::Update {
        target,
        filter,
        output,
        changes,
        dry_run,
        skip_unchanged,
    } = plan;
    let labels = load_labels(&output.labels);
    let mut printer = Printer::new(
        &output.format,
        Settings {
            labels: labels.as_ref(),
            now: unix_now_seconds(),
            ..Settings::default()
        },
    );
    let mut dumper = connect(&target)?;
    let updated = if dry_run {
        let mut out = stdout();
        let mut count = 0;
        dumper.entries(
            Table::Conntrack,
            &filter,
            |entry, _| {
                if skip_unchanged && changes.leaves_alone(entry) {
                    return Ok(());
                }
                printer.print(&mut out, Record::Entry(entry), &Frame::NONE)?;
                count += 1;
                Ok(())
            },
            left_alone,
        )?;
        printer.finish(&mut out)?;
        out.flush()?;
        Updated {
            count,
            ..Updated::default()
        }
    } else {
        let updater = connect(&target)?;
        let mut report = Report::new(stdout());
        let mut updated = update_one_by_one(
            &mut dumper,
            updater,
            &filter,
            &changes,
            skip_unchanged,
            &mut printer,
            &mut report,
        );
        updated.output = report.finish();
        updated
    };
    summarise(updated, dry_run, output.quiet)
}

/// "ct: N flow entries have been updated." (or "would be updated"), and the exit status:
/// 1 when nothing was (or would be) updated or the kernel refused any entry.
fn summarise(updated: Updated, dry_run: bool, quiet: bool) -> Result<()> {
    let Updated {
        count,
        refused,
        failure,
        output,
    } = updated;
    if !quiet && (failure.is_none() || count > 0) {
        let _ = if dry_run {
            writeln!(Stderr, "{}{count} flow entries would be updated.", prefix())
        } else if failure.is_some() {
            writeln!(
                Stderr,
                "{}{count} flow entries have been updated before a failure stopped the update.",
                prefix()
            )
        } else if refused > 0 {
            writeln!(
                Stderr,
                "{}{count} flow entries have been updated; the kernel refused {refused}.",
                prefix()
            )
        } else {
            writeln!(
                Stderr,
                "{}{count} flow entries have been updated.",
                prefix()
            )
        };
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    if let Some(err) = output.filter(|err| err.kind() != io::ErrorKind::BrokenPipe) {
        return Err(anyhow::Error::new(err).context("the updated entries were not all listed"));
    }
    if refused > 0 {
        return Err(anyhow::anyhow!(
            "the kernel refused to update {refused} of the matching entries (see above)"
        ));
    }
    if count == 0 {
        return Err(NothingMatched.into());
    }
    Ok(())
}

/// What an update says of an entry the kernel sent that cannot be decoded: it is left
/// alone, and the update goes on.
fn left_alone(err: DecodeError) -> Result<()> {
    writeln!(
        Stderr,
        "{}left alone an entry the kernel sent: {err}",
        prefix()
    )?;
    Ok(())
}

/// A batch of updates with the original tuple of each entry, to name it in a message.
#[derive(Default)]
struct Pending {
    batch: UpdateBatch,
    tuples: Vec<Tuple>,
}

/// The per-entry path, overlapping as `ct delete`'s does: the dump here, the updates
/// and reads back on a thread with the second socket, each batch printed here when it
/// comes back.
fn update_one_by_one<W: Write>(
    dumper: &mut Conntrack,
    mut updater: Conntrack,
    filter: &Filter,
    changes: &Changes,
    skip_unchanged: bool,
    printer: &mut Printer<'_>,
    out: &mut Report<W>,
) -> Updated {
    let mut updated = Updated::default();
    std::thread::scope(|scope| {
        let (to_update, batches) = mpsc::sync_channel::<Pending>(2);
        let (to_print, done) = mpsc::channel::<Result<(Pending, Vec<Update>)>>();
        scope.spawn(move || {
            for pending in batches {
                let result = updater
                    .update_entries(&pending.batch)
                    .map(|answers| (pending, answers));
                let failed = result.is_err();
                if to_print.send(result).is_err() || failed {
                    return;
                }
            }
        });
        let mut pending = Pending::default();
        let dumped = dumper.entries(
            Table::Conntrack,
            filter,
            |entry, dumped| {
                if skip_unchanged && changes.leaves_alone(entry) {
                    return Ok(());
                }
                pending.batch.add(entry, dumped, changes);
                pending.tuples.push(entry.original);
                if pending.batch.len() >= BATCH {
                    send_or_fail(&to_update, std::mem::take(&mut pending))?;
                    while let Ok(result) = done.try_recv() {
                        absorb(&mut updated, result, printer, out);
                    }
                    if updated.failure.is_some() {
                        return Err(anyhow::anyhow!("the update stopped"));
                    }
                }
                Ok(())
            },
            left_alone,
        );
        let last = match dumped {
            Ok(_) if !pending.batch.is_empty() => send_or_fail(&to_update, pending),
            other => other.map(|_| ()),
        };
        drop(to_update);
        for result in done {
            absorb(&mut updated, result, printer, out);
        }
        if let (Err(err), None) = (last, &updated.failure) {
            updated.failure = Some(err);
        }
    });
    if let Err(err) = printer.finish(out) {
        updated.failure.get_or_insert(err.into());
    }
    updated
}

fn send_or_fail(to_update: &mpsc::SyncSender<Pending>, pending: Pending) -> Result<()> {
    to_update
        .send(pending)
        .map_err(|_| anyhow::anyhow!("the updating thread stopped"))
}

/// Counts and prints what the kernel did with a batch; reports each refusal and each
/// entry replaced meanwhile on stderr.
fn absorb<W: Write>(
    updated: &mut Updated,
    result: Result<(Pending, Vec<Update>)>,
    printer: &mut Printer<'_>,
    out: &mut Report<W>,
) {
    let (pending, answers) = match result {
        Ok(done) => done,
        Err(err) => {
            updated.failure.get_or_insert(err);
            return;
        }
    };
    for (answer, tuple) in answers.into_iter().zip(&pending.tuples) {
        match answer {
            Update::Updated(updated_entry) => {
                updated.count += 1;
                if !out.is_open() {
                    continue;
                }
                let printed = match updated_entry.entry() {
                    Ok(entry) => printer
                        .print(out, Record::Entry(&entry), &Frame::NONE)
                        .map_err(anyhow::Error::from),
                    Err(err) => writeln!(
                        Stderr,
                        "{}updated {}, but cannot show it as the kernel sent it: {err}",
                        prefix(),
                        describe(tuple)
                    )
                    .map_err(anyhow::Error::from),
                };
                if let Err(err) = printed {
                    updated.failure.get_or_insert(err);
                }
            }
            Update::AlreadyGone => {}
            Update::Replaced => {
                let _ = writeln!(
                    Stderr,
                    "{}{} went while it was being updated, and another entry with its \
                     tuple may have been updated in its place (the kernel matches an update \
                     by tuple alone); not counted",
                    prefix(),
                    describe(tuple)
                );
            }
            Update::Refused(errno) => {
                updated.refused += 1;
                let _ = writeln!(
                    Stderr,
                    "{}{}: {:#}",
                    prefix(),
                    describe(tuple),
                    Update::refusal(errno)
                );
            }
        }
    }
}

/// An entry named by its original tuple, for messages: `tcp 10.0.0.1:1000 -> 10.0.0.2:80`.
fn describe(tuple: &Tuple) -> String {
    let address = |addr: Option<IpAddr>| addr.map_or_else(|| "?".to_string(), |a| a.to_string());
    let (src, dst) = (address(tuple.src), address(tuple.dst));
    let protocol = protocol_text(tuple.protonum);
    match tuple.l4 {
        L4::Ports { sport, dport } => {
            let with_port = |addr: &str, port: u16| {
                if addr.contains(':') {
                    format!("[{addr}]:{port}")
                } else {
                    format!("{addr}:{port}")
                }
            };
            format!(
                "the {protocol} entry {} -> {}",
                with_port(&src, sport),
                with_port(&dst, dport)
            )
        }
        L4::Icmp {
            icmp_type,
            code,
            id,
        } => format!("the {protocol} entry {src} -> {dst} (type {icmp_type} code {code} id {id})"),
        L4::Gre { srckey, dstkey } => {
            format!("the {protocol} entry {src} -> {dst} (keys {srckey:#x}, {dstkey:#x})")
        }
        L4::None => format!("the {protocol} entry {src} -> {dst}"),
    }
}
