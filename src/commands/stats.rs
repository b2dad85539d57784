//! `ct stats`: the kernel's per-CPU counters, as `conntrack -S` prints them, or with the
//! table's fill level and totals for people (`-o table`) and scripts (`-o json`).

use std::io::Write;

use anyhow::{Context, Result};

use super::{Stderr, connect, stdout};
use crate::model::stats::Headline;
use crate::model::table::Table;
use crate::netlink::ops::proc_fallback;
use crate::output::NetnsTag;
use crate::output::stats::{
    StatsFormat, print_classic, print_json, print_namespaces_table, print_table,
};
use crate::plan::{self, Target};

/// Says, once the output is out, that numbers came from /proc (if they did): the same
/// note for `ct count`, `ct stats` and `ct stats expect`, whatever the format. A
/// command that fails says nothing of it.
pub fn report_proc_fallback() {
    if let Some(why) = proc_fallback() {
        let _ = writeln!(
            Stderr,
            "{}note: {why}; the numbers come from /proc instead, as conntrack's do",
            crate::commands::prefix()
        );
    }
}

pub fn run(plan: plan::Stats) -> Result<()> {
    let plan::Stats {
        target,
        table: kind,
        format,
    } = plan;
    let mut out = stdout();
    if target.all() {
        return all_namespaces(&target, kind, format, &mut out);
    }
    let mut conntrack = connect(&target)?;
    let cpus = conntrack.cpu_stats(kind)?;
    match format {
        StatsFormat::Classic => print_classic(&mut out, &cpus, None)?,
        StatsFormat::Json => {
            print_json(&mut out, kind, &conntrack.table_stats(kind)?, &cpus, None)?
        }
        StatsFormat::Table => print_table(&mut out, kind, &conntrack.table_stats(kind)?, &cpus)?,
    }
    out.flush()?;
    report_proc_fallback();
    Ok(())
}

/// `--all-netns`: conntrack's lines with each namespace's `[LABEL] ` before them, one
/// JSON object per namespace with its `netns` first (the printers put the tag), or one
/// table of every namespace's fill level and drop counters.
fn all_namespaces<W: Write>(
    target: &Target,
    kind: Table,
    format: StatsFormat,
    out: &mut W,
) -> Result<()> {
    let mut rows = Vec::new();
    super::for_each_table(target, |conntrack, namespace| {
        let tag = namespace
            .map(NetnsTag::of)
            .context("every table has a namespace")?;
        let cpus = conntrack.cpu_stats(kind)?;
        match format {
            StatsFormat::Classic => print_classic(out, &cpus, Some(&tag))?,
            StatsFormat::Json => {
                print_json(out, kind, &conntrack.table_stats(kind)?, &cpus, Some(&tag))?;
            }
            StatsFormat::Table => {
                rows.push((
                    tag.label,
                    Headline::new(conntrack.table_stats(kind)?, &cpus),
                ));
            }
        }
        Ok(())
    })?;
    if format == StatsFormat::Table {
        print_namespaces_table(out, kind, &rows)?;
    }
    out.flush()?;
    report_proc_fallback();
    Ok(())
}
