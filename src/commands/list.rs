//! `ct list`: the conntrack table (or the dying or unconfirmed list, or the expectation
//! table) as it is dumped, each entry decoded, filtered and printed as it arrives.

use std::io::Write;
use std::ops::Range;

use anyhow::Result;

use super::{connect, load_labels, stdout};
use crate::decode::DecodeError;
use crate::decode::entry::decode_entry;
use crate::filter::Filter;
use crate::model::entry::Entry;
use crate::model::table::Table;
use crate::netlink::netns::Place;
use crate::netlink::{Conntrack, DumpStats};
use crate::output::{Frame, NetnsTag, Print, Printer, Record, Settings, unix_now_seconds};
use crate::plan::{self, Output, Source, Target};

pub fn run(plan: plan::List) -> Result<()> {
    let plan::List {
        source,
        table,
        filter,
        output,
        zero,
    } = plan;
    let target = match source {
        Source::Saved(saved) => return list_saved(&saved, &filter, &output),
        Source::Kernel(target) => target,
    };
    if target.all() {
        return list_all_namespaces(&target, &filter, &output);
    }
    if let Some(zeroing) = zero {
        // The plan allows --zero only for the conntrack table of one namespace.
        let mut conntrack = connect(&target)?;
        return print_entries(&output, |on_entry, on_undecodable| {
            conntrack.entries_zeroing(
                &zeroing,
                &filter,
                |entry, _| on_entry(entry),
                on_undecodable,
            )
        });
    }
    match table {
        Table::Expect => super::expect::list(&target, &filter, &output),
        entries => list(&target, &filter, &output, entries),
    }
}

/// Dumps the table (with as much of the filter as the kernel takes) or a list the
/// kernel cannot filter, and prints every entry that passes the filter.
fn list(target: &Target, filter: &Filter, output: &Output, table: Table) -> Result<()> {
    let mut conntrack = connect(target)?;
    print_entries(output, |on_entry, on_undecodable| {
        conntrack.entries(table, filter, |entry, _| on_entry(entry), on_undecodable)
    })
}

/// What `ct list` and its kin say of an entry the kernel sent that cannot be decoded;
/// the dump goes on.
pub fn skipped_entry(err: DecodeError) -> Result<()> {
    writeln!(
        super::Stderr,
        "{}skipped an entry the kernel sent: {err}",
        crate::commands::prefix()
    )?;
    Ok(())
}

/// The entries of every namespace, each tagged with its namespace, in one output (one
/// table, one summary). A namespace the kernel counts empty is not dumped
/// ([`super::may_hold_entries`]); the others are dumped on as many threads as there are
/// cores, one namespace each, and printed in the order listed, each namespace's entries
/// together ([`super::for_each_place_ahead`]: up to 32 MiB of entries wait ahead).
fn list_all_namespaces(target: &Target, filter: &Filter, output: &Output) -> Result<()> {
    let labels = load_labels(&output.labels);
    let out = stdout();
    let printer = Printer::new(
        &output.format,
        Settings {
            labels: labels.as_ref(),
            now: unix_now_seconds(),
            namespaces: true,
            ..Settings::default()
        },
    );
    let mut lister = Lister::new(filter, Some(printer), out, output.line_buffered);
    let mut all_stats = DumpStats::default();
    super::for_each_place_ahead(
        &target.scope.places(),
        super::report_skipped,
        |place, hand_over| read_namespace(place, target, filter, hand_over),
        |place, piece: DumpedPiece| {
            lister.netns = place.tag().map(NetnsTag::of);
            for (family, span) in &piece.spans {
                match decode_entry(*family, &piece.attributes[span.clone()]) {
                    Ok(entry) => lister.on_matching(&entry)?,
                    Err(err) => skipped_entry(err)?,
                }
            }
            Ok(())
        },
        |_, stats: DumpStats| all_stats.interrupted |= stats.interrupted,
    )?;
    let shown = lister.finish()?;
    report(all_stats, shown, output.quiet, &mut super::Stderr)
}

/// How many bytes of entries a [`DumpedPiece`] gathers before it is handed over.
const PIECE_BYTES: usize = 64 * 1024;

/// Entries of one namespace that passed the filter, as dumped (their family and
/// attributes), handed from the thread that dumped them to the one that prints.
#[derive(Default)]
struct DumpedPiece {
    spans: Vec<(u8, Range<usize>)>,
    attributes: Vec<u8>,
}

/// Under `--all-netns`, on a reader thread: the conntrack table of `place`, unless the
/// kernel counts it empty ([`super::may_hold_entries`]), handed over in pieces of about
/// [`PIECE_BYTES`] of the entries that pass `filter`. An entry that cannot be decoded is
/// reported here and left out.
fn read_namespace(
    place: &Place,
    target: &Target,
    filter: &Filter,
    hand_over: &mut dyn FnMut(DumpedPiece) -> Result<()>,
) -> Result<DumpStats> {
    let mut conntrack = Conntrack::open_at(place, target.socket_buffer)?;
    if !super::may_hold_entries(&mut conntrack) {
        return Ok(DumpStats::default());
    }
    let mut piece = DumpedPiece::default();
    let stats = conntrack.entries(
        Table::Conntrack,
        filter,
        |_, dumped| {
            let start = piece.attributes.len();
            piece.attributes.extend_from_slice(dumped.attributes);
            piece
                .spans
                .push((dumped.family, start..piece.attributes.len()));
            if piece.attributes.len() >= PIECE_BYTES {
                hand_over(std::mem::take(&mut piece))?;
            }
            Ok(())
        },
        skipped_entry,
    )?;
    if !piece.spans.is_empty() {
        hand_over(piece)?;
    }
    Ok(stats)
}

/// Prints the entries of a saved dump that pass `filter`, as of the time it was taken
/// (so `delta-time` and `[start=...]` print as they were saved).
fn list_saved(saved: &plan::Saved, filter: &Filter, output: &Output) -> Result<()> {
    let labels = load_labels(&output.labels);
    let mut dump = super::open_saved(saved)?;
    let out = stdout();
    let printer = Printer::new(
        &output.format,
        Settings {
            labels: labels.as_ref(),
            now: dump.captured_at(),
            ..Settings::default()
        },
    );
    let mut lister = Lister::new(filter, Some(printer), out, output.line_buffered);
    dump.read(&mut super::Stderr, |entry| Ok(lister.on_entry(entry)?))?;
    let shown = lister.finish()?;
    report(
        DumpStats::default(),
        shown,
        output.quiet,
        &mut super::Stderr,
    )
}

/// The entry callback [`print_entries`] hands to its fetch.
pub type OnEntry<'a> = &'a mut dyn FnMut(&Entry<'_>) -> Result<()>;

/// Runs `fetch`, which hands every entry it receives (already filtered) to the first
/// function it is given and every entry that cannot be decoded to the second, prints
/// the entries as `output` says, and then the summary on stderr. Shared by every
/// command that shows entries.
pub fn print_entries<F>(output: &Output, fetch: F) -> Result<()>
where
    F: FnOnce(OnEntry<'_>, fn(DecodeError) -> Result<()>) -> Result<DumpStats>,
{
    let labels = load_labels(&output.labels);
    let out = stdout();
    let now = unix_now_seconds();
    let printer = Printer::new(
        &output.format,
        Settings {
            labels: labels.as_ref(),
            now,
            ..Settings::default()
        },
    );
    let everything = Filter::default();
    let mut lister = Lister::new(&everything, Some(printer), out, output.line_buffered);
    let stats = fetch(&mut |entry| Ok(lister.on_matching(entry)?), skipped_entry)?;
    let shown = lister.finish()?;
    report(stats, shown, output.quiet, &mut super::Stderr)
}

/// What `ct list` says on stderr after the entries: a warning when the kernel flagged the
/// dump as interrupted, and the summary line unless `--quiet`.
pub fn report<E: Write>(stats: DumpStats, shown: u64, quiet: bool, errors: &mut E) -> Result<()> {
    if stats.interrupted {
        writeln!(
            errors,
            "{}warning: the table changed during the dump (NLM_F_DUMP_INTR); \
             entries may be missing or shown twice",
            crate::commands::prefix()
        )?;
    }
    if !quiet {
        writeln!(
            errors,
            "{}{shown} flow entries have been shown.",
            crate::commands::prefix()
        )?;
    }
    Ok(())
}

/// The per-entry path of `ct list` after the kernel layer's decoding: filter (for a
/// saved dump), print, count.
pub struct Lister<'m, W: Write> {
    filter: &'m Filter,
    printer: Option<Printer<'m>>,
    out: W,
    /// Flush after every entry, as a terminal expects.
    line_buffered: bool,
    shown: u64,
    /// The namespace of the entries coming in, with `--all-netns`.
    pub netns: Option<NetnsTag>,
}

impl<'m, W: Write> Lister<'m, W> {
    pub fn new(
        filter: &'m Filter,
        printer: Option<Printer<'m>>,
        out: W,
        line_buffered: bool,
    ) -> Self {
        Lister {
            filter,
            printer,
            out,
            line_buffered,
            shown: 0,
            netns: None,
        }
    }

    /// Takes one entry of a saved dump: filtered, printed, counted.
    pub fn on_entry(&mut self, entry: &Entry<'_>) -> std::io::Result<()> {
        if !self.filter.matches(entry) {
            return Ok(());
        }
        self.on_matching(entry)
    }

    /// Takes one entry that passed the filter (the kernel layer checked it): printed,
    /// counted.
    pub fn on_matching(&mut self, entry: &Entry<'_>) -> std::io::Result<()> {
        self.shown += 1;
        let Some(printer) = &mut self.printer else {
            return Ok(());
        };
        let frame = Frame {
            netns: self.netns.as_ref(),
            event: None,
        };
        printer.print(&mut self.out, Record::Entry(entry), &frame)?;
        if self.line_buffered {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Ends the output, flushes it and returns how many entries were shown.
    pub fn finish(mut self) -> Result<u64> {
        if let Some(printer) = &mut self.printer {
            printer.finish(&mut self.out)?;
        }
        self.out.flush()?;
        Ok(self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_dump_is_reported_even_when_quiet() {
        let interrupted = DumpStats {
            interrupted: true,
            ..Default::default()
        };
        let mut said = Vec::new();
        report(interrupted, 3, false, &mut said).unwrap();
        assert_eq!(
            String::from_utf8(said).unwrap(),
            "ct: warning: the table changed during the dump (NLM_F_DUMP_INTR); \
             entries may be missing or shown twice\nct: 3 flow entries have been shown.\n"
        );
        let mut quiet = Vec::new();
        report(interrupted, 3, true, &mut quiet).unwrap();
        assert!(
            String::from_utf8(quiet)
                .unwrap()
                .contains("NLM_F_DUMP_INTR")
        );
        let mut calm = Vec::new();
        report(DumpStats::default(), 0, true, &mut calm).unwrap();
        assert!(calm.is_empty());
    }
}
