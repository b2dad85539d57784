//! `ct count`: how many entries, as `conntrack -C` prints it (a number and a newline).
//!
//! Without filters the kernel's own counter answers (its global statistics): no dump,
//! constant time. With filters ct counts the entries `ct list` would show, with the same
//! kernel-side filtering, printing nothing per entry.

use std::io::Write;

use anyhow::Result;

use super::stats::report_proc_fallback;
use super::{connect, stdout};
use crate::filter::Filter;
use crate::model::table::Table;
use crate::netlink::Conntrack;
use crate::output::NetnsTag;
use crate::output::stats::print_count;
use crate::plan::{self, Source};

pub fn run(plan: plan::Count) -> Result<()> {
    let plan::Count {
        source,
        table,
        filter,
    } = plan;
    let target = match source {
        Source::Saved(saved) => return print_one(count_saved(&saved, &filter)?),
        Source::Kernel(target) => target,
    };
    let everything = filter == Filter::default();
    let count = |conntrack: &mut Conntrack| match (table.holds_expectations(), everything) {
        (false, true) => conntrack.count_entries(),
        (false, false) => count_matching(conntrack, &filter),
        (true, true) => conntrack.count_all_expectations().map(u64::from),
        (true, false) => conntrack.count_expectations(&filter),
    };
    if !target.all() {
        return print_one(count(&mut connect(&target)?)?);
    }
    // One line per namespace, `[LABEL] COUNT` (the printer puts the tag), each as soon
    // as it is known.
    let mut out = stdout();
    super::for_each_table(&target, |conntrack, namespace| {
        let count = count(conntrack)?;
        print_count(&mut out, count, namespace.map(NetnsTag::of).as_ref())?;
        Ok(())
    })?;
    out.flush()?;
    report_proc_fallback();
    Ok(())
}

fn print_one(count: u64) -> Result<()> {
    let mut out = stdout();
    print_count(&mut out, count, None)?;
    out.flush()?;
    report_proc_fallback();
    Ok(())
}

/// The entries of a saved dump that pass `filter` (all it holds, without filters).
fn count_saved(saved: &plan::Saved, filter: &Filter) -> Result<u64> {
    let mut dump = super::open_saved(saved)?;
    let mut matching = 0;
    dump.read(&mut super::Stderr, |entry| {
        matching += u64::from(filter.matches(entry));
        Ok(())
    })?;
    Ok(matching)
}

/// The entries that pass `filter`, counted as they are dumped.
fn count_matching(conntrack: &mut Conntrack, filter: &Filter) -> Result<u64> {
    let mut counted = 0;
    conntrack.entries(
        Table::Conntrack,
        filter,
        |_, _| {
            counted += 1;
            Ok(())
        },
        super::list::skipped_entry,
    )?;
    Ok(counted)
}
