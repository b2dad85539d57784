//! `ct stats`: the kernel's per-CPU counters, as `conntrack -S` prints them, or with the
//! table's fill level and totals for people (`-o table`) and scripts (`-o json`).

use std::io::Write;
use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};

use super::{Stderr, connect, stdout};
use crate::cli::{CountTableArg, StatsArgs, StatsFormatArg};
use crate::decode::stats::{decode_cpu_stats, decode_global_stats, decode_proc_stats};
use crate::kernel::*;
use crate::model::stats::{CpuStats, GlobalStats, Headline, StatsKind};
use crate::netlink::{Conntrack, KernelError, Request, kernel_errno};
use crate::output::NetnsTag;
use crate::output::stats::{print_classic, print_json, print_namespaces_table, print_table};
use crate::plan::Target;

/// Where the kernel keeps the counters for readers without ctnetlink.
const PROC_STATS: &str = "/proc/net/stat/nf_conntrack";

/// The expectations, one a line, for root even without CAP_NET_ADMIN.
const PROC_EXPECTATIONS: &str = "/proc/net/nf_conntrack_expect";

/// Why the numbers came from /proc, once one did: the kernel refused ctnetlink.
static PROC_FALLBACK: OnceLock<String> = OnceLock::new();

/// Remembers that the kernel refused ctnetlink and a number came from /proc instead.
fn note_proc_fallback(refused: &anyhow::Error) {
    PROC_FALLBACK.get_or_init(|| match kernel_errno(refused) {
        Some(libc::EPERM | libc::EACCES) => {
            "without CAP_NET_ADMIN the kernel refuses ctnetlink".to_string()
        }
        _ => format!("{refused:#}"),
    });
}

/// Says, once the output is out, that numbers came from /proc (if they did): the same
/// note for `ct count`, `ct stats` and `ct stats expect`, whatever the format. A
/// command that fails says nothing of it.
pub fn report_proc_fallback() {
    if let Some(why) = PROC_FALLBACK.get() {
        let _ = writeln!(
            Stderr,
            "ct: note: {why}; the numbers come from /proc instead, as conntrack's do"
        );
    }
}

/// The number of expectations, where the kernel refuses to dump them: the lines of
/// /proc/net/nf_conntrack_expect, which root can read without CAP_NET_ADMIN.
pub fn count_proc_expectations(refused: anyhow::Error) -> Result<u64> {
    match std::fs::read(PROC_EXPECTATIONS) {
        Ok(text) => {
            note_proc_fallback(&refused);
            Ok(text.iter().filter(|&&byte| byte == b'\n').count() as u64)
        }
        Err(proc_err) => Err(anyhow!(
            "{refused:#}; and {PROC_EXPECTATIONS}, where the expectations can be counted \
             too, cannot be read ({proc_err})"
        )),
    }
}

pub fn run(args: &StatsArgs) -> Result<()> {
    let target = Target::from_args(&args.target)?;
    let kind = match args.table {
        CountTableArg::Conntrack => StatsKind::Conntrack,
        CountTableArg::Expect => StatsKind::Expect,
    };
    let (mut out, _) = stdout();
    if args.all.all_netns {
        return all_namespaces(&target, kind, args.output, &mut out);
    }
    let mut conntrack = connect(&target)?;
    let cpus = per_cpu(&mut conntrack, kind)?;
    match args.output {
        None => print_classic(&mut out, &cpus)?,
        Some(format) => {
            let global = global(&mut conntrack, kind)?;
            match format {
                StatsFormatArg::Json => print_json(&mut out, kind, &global, &cpus)?,
                StatsFormatArg::Table => print_table(&mut out, kind, &global, &cpus)?,
            }
        }
    }
    out.flush()?;
    report_proc_fallback();
    Ok(())
}

/// The entries and the limit of the connections' or the expectations' table.
fn global(conntrack: &mut Conntrack, kind: StatsKind) -> Result<GlobalStats> {
    Ok(match kind {
        StatsKind::Conntrack => global_stats(conntrack)?,
        StatsKind::Expect => GlobalStats {
            entries: Some(super::expect::count_all(conntrack)?),
            max_entries: read_sysctl_number(EXPECT_MAX_SYSCTL),
        },
    })
}

/// `--all-netns`: conntrack's lines with each namespace's `[LABEL] ` before them, one
/// JSON object per namespace with its `netns` first, or one table of every namespace's
/// fill level and drop counters.
fn all_namespaces<W: Write>(
    target: &Target,
    kind: StatsKind,
    format: Option<StatsFormatArg>,
    out: &mut W,
) -> Result<()> {
    let mut rows = Vec::new();
    let mut text = Vec::new();
    super::for_each_table(target, true, |conntrack, namespace| {
        let tag = namespace
            .map(NetnsTag::of)
            .context("every table has a namespace")?;
        let cpus = per_cpu(conntrack, kind)?;
        text.clear();
        match format {
            None => {
                print_classic(&mut text, &cpus)?;
                for line in text.split_inclusive(|byte| *byte == b'\n') {
                    out.write_all(&tag.prefix)?;
                    out.write_all(line)?;
                }
            }
            Some(StatsFormatArg::Json) => {
                print_json(&mut text, kind, &global(conntrack, kind)?, &cpus)?;
                out.write_all(b"{")?;
                out.write_all(&tag.json_head)?;
                out.write_all(text.get(1..).unwrap_or_default())?;
            }
            Some(StatsFormatArg::Table) => {
                rows.push((tag.label, Headline::new(global(conntrack, kind)?, &cpus)));
            }
        }
        Ok(())
    })?;
    if format == Some(StatsFormatArg::Table) {
        print_namespaces_table(out, kind, &rows)?;
    }
    out.flush()?;
    report_proc_fallback();
    Ok(())
}

/// The per-CPU counters over ctnetlink; where the kernel refuses, from
/// /proc/net/stat/nf_conntrack, as conntrack falls back (that file holds the expectation
/// counters too, so `-S expect` shows the same).
pub fn per_cpu(conntrack: &mut Conntrack, kind: StatsKind) -> Result<Vec<CpuStats>> {
    let (subsystem, message_type) = match kind {
        StatsKind::Conntrack => (NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS_CPU),
        StatsKind::Expect => (NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET_STATS_CPU),
    };
    let request = Request::dump(subsystem, message_type, AF_UNSPEC, "the statistics dump");
    let mut cpus = Vec::new();
    let result = conntrack.dump(&request, |message| {
        // The kernel answers IPCTNL_MSG_EXP_GET_STATS_CPU under NFNL_SUBSYS_CTNETLINK
        // (ctnetlink_exp_stat_fill_info), not the expectation subsystem it was asked on.
        if message.message_type == message_type {
            cpus.push(decode_cpu_stats(kind, message.res_id, message.attributes)?);
        }
        Ok(())
    });
    match result {
        Ok(_) => Ok(cpus),
        Err(err) if err.downcast_ref::<KernelError>().is_some() => {
            let text = std::fs::read_to_string(PROC_STATS).map_err(|proc_err| {
                anyhow!(
                    "{err:#}; and {PROC_STATS} cannot be read either ({proc_err}): this \
                     kernel offers no conntrack statistics"
                )
            })?;
            note_proc_fallback(&err);
            Ok(decode_proc_stats(&text))
        }
        Err(err) => Err(err),
    }
}

/// The number of entries and the table's limit (IPCTNL_MSG_CT_GET_STATS); where the
/// kernel refuses, the nf_conntrack_count and nf_conntrack_max sysctls, as conntrack -C
/// falls back.
pub fn global_stats(conntrack: &mut Conntrack) -> Result<GlobalStats> {
    match global_stats_over_netlink(conntrack) {
        Err(err) if err.downcast_ref::<KernelError>().is_some() => {
            let entries = require_sysctl_number(CONNTRACK_COUNT_SYSCTL)
                .with_context(|| format!("{err:#}; and the sysctl fallback failed"))?;
            note_proc_fallback(&err);
            Ok(GlobalStats {
                entries: Some(entries),
                max_entries: read_sysctl_number(CONNTRACK_MAX_SYSCTL),
            })
        }
        other => other,
    }
}

fn global_stats_over_netlink(conntrack: &mut Conntrack) -> Result<GlobalStats> {
    let request = Request::single(
        NFNL_SUBSYS_CTNETLINK,
        IPCTNL_MSG_CT_GET_STATS,
        AF_UNSPEC,
        Vec::new(),
        "the statistics request",
    );
    let mut global = GlobalStats::default();
    conntrack.request(&request, |message| {
        if message.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS) {
            global = decode_global_stats(message.attributes)?;
        }
        Ok(())
    })?;
    if global.max_entries.is_none() {
        // Kernels before 4.19 send only the count; the limit is a sysctl there.
        global.max_entries = read_sysctl_number(CONNTRACK_MAX_SYSCTL);
    }
    Ok(global)
}

/// The sysctls beside the netlink counters, per network namespace.
const CONNTRACK_COUNT_SYSCTL: &str = "/proc/sys/net/netfilter/nf_conntrack_count";
const CONNTRACK_MAX_SYSCTL: &str = "/proc/sys/net/netfilter/nf_conntrack_max";
const EXPECT_MAX_SYSCTL: &str = "/proc/sys/net/netfilter/nf_conntrack_expect_max";

/// A number from a sysctl file, if it can be read.
fn read_sysctl_number(path: &str) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The same, for a caller that cannot do without it.
fn require_sysctl_number(path: &str) -> Result<u32> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot open {path}"))?;
    text.trim()
        .parse()
        .with_context(|| format!("cannot read a number from {path}"))
}
