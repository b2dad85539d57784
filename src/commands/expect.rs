//! The expectation table: `ct list expect` and `ct count expect`.
//!
//! conntrack 1.4.7 asks the kernel for IPv4 expectations only unless given `-f ipv6`
//! (and `-C expect` counts IPv4 only, refusing `-f`); ct asks for both families unless
//! `-f` or an address narrows it, since an IPv6 FTP data channel is as real as an IPv4
//! one.

use std::io::Write;

use anyhow::Result;

use super::{connect, stdout};
use crate::decode::expect::decode_expectation;
use crate::filter::Filter;
use crate::kernel::*;
use crate::netlink::{Conntrack, DumpStats, KernelError, Message, Request};
use crate::output::ExpectPrinter;
use crate::plan::{Format, Output, Target, UsageError};

/// `ct list expect`: every expectation that passes the filter, as it is dumped.
pub fn list(target: &Target, filter: &Filter, output: &Output) -> Result<()> {
    check_filter(filter)?;
    check_format(&output.format)?;
    if matches!(
        output.format,
        Format::Table {
            columns: Some(_),
            ..
        }
    ) {
        return Err(UsageError(
            "--columns picks the columns of entries; the expectation table has its own".into(),
        )
        .into());
    }
    let mut conntrack = connect(target)?;
    let (mut out, terminal) = stdout();
    let mut printer = ExpectPrinter::new(&output.format, output.timestamp);
    let mut shown = 0u64;
    let mut errors = super::Stderr;
    dump(&mut conntrack, filter, |message| {
        match decode_expectation(message.family, message.attributes) {
            Ok(expectation) if !filter.matches_expectation(&expectation) => {}
            Ok(expectation) => {
                printer.print(&mut out, &expectation)?;
                shown += 1;
                if terminal {
                    out.flush()?;
                }
            }
            Err(err) => writeln!(errors, "ct: skipped an expectation the kernel sent: {err}")?,
        }
        Ok(())
    })?;
    printer.finish(&mut out)?;
    out.flush()?;
    if !output.quiet {
        writeln!(errors, "ct: {shown} expectations have been shown.")?;
    }
    Ok(())
}

/// `ct count expect`: the expectations that pass the filter (checked with
/// [`check_filter`]), of both families.
pub fn count(conntrack: &mut Conntrack, filter: &Filter) -> Result<u64> {
    let mut counted = 0u64;
    dump(conntrack, filter, |message| {
        // An undecodable expectation is not counted; `ct list expect` says why.
        if decode_expectation(message.family, message.attributes)
            .is_ok_and(|expectation| filter.matches_expectation(&expectation))
        {
            counted += 1;
        }
        Ok(())
    })?;
    Ok(counted)
}

/// Every expectation, of both families (the kernel keeps no counter of them); where the
/// kernel refuses the dump, counted in /proc ([`super::stats::count_proc_expectations`]).
pub fn count_all(conntrack: &mut Conntrack) -> Result<u32> {
    let counted = match count(conntrack, &Filter::default()) {
        Err(err) if err.downcast_ref::<KernelError>().is_some() => {
            super::stats::count_proc_expectations(err)?
        }
        other => other?,
    };
    Ok(u32::try_from(counted).unwrap_or(u32::MAX))
}

/// Dumps the expectations of the filter's family, or of both, handing over each one.
pub(super) fn dump<F>(
    conntrack: &mut Conntrack,
    filter: &Filter,
    mut on_expectation: F,
) -> Result<DumpStats>
where
    F: FnMut(Message<'_>) -> Result<()>,
{
    let request = Request::dump(
        NFNL_SUBSYS_CTNETLINK_EXP,
        IPCTNL_MSG_EXP_GET,
        filter.family.unwrap_or(AF_UNSPEC),
        "the expectation dump",
    );
    conntrack.dump(&request, |message| {
        // A dump answers with IPCTNL_MSG_EXP_NEW messages.
        if message.is(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_NEW) {
            on_expectation(message)?;
        }
        Ok(())
    })
}

/// conntrack's `-o save` has no line for an expectation.
pub fn check_format(format: &Format) -> Result<(), UsageError> {
    match format {
        Format::Save => Err(UsageError(
            "-o save writes entries as conntrack commands; it has no form for expectations".into(),
        )),
        _ => Ok(()),
    }
}

/// Filters that say nothing about expectations are a usage error, not a silent no-op.
pub fn check_filter(filter: &Filter) -> Result<(), UsageError> {
    match filter.not_for_expectations() {
        Some(flag) => Err(UsageError(format!(
            "{flag} does not apply to expectations; they can be filtered by -f, -p, -s, \
             -d, --sport, --dport, --addr, --port and --helper"
        ))),
        None => Ok(()),
    }
}
