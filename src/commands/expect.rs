//! The expectation table: `ct list expect`, and the checks of every command that reads it.
//!
//! conntrack 1.4.7 asks the kernel for IPv4 expectations only unless given `-f ipv6`
//! (and `-C expect` counts IPv4 only, refusing `-f`); ct asks for both families unless
//! `-f` or an address narrows it, since an IPv6 FTP data channel is as real as an IPv4
//! one.

use std::io::Write;

use anyhow::Result;

use super::{connect, stdout};
use crate::filter::Filter;
use crate::output::ExpectPrinter;
use crate::output::Format;
use crate::plan::{Output, Target, UsageError};

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
    let mut out = stdout();
    let mut printer = ExpectPrinter::new(&output.format, output.timestamp);
    let mut shown = 0u64;
    let mut errors = super::Stderr;
    conntrack.expectations(
        filter,
        |expectation, _| {
            printer.print(&mut out, expectation)?;
            shown += 1;
            if output.line_buffered {
                out.flush()?;
            }
            Ok(())
        },
        |err| {
            Ok(writeln!(
                errors,
                "ct: skipped an expectation the kernel sent: {err}"
            )?)
        },
    )?;
    printer.finish(&mut out)?;
    out.flush()?;
    if !output.quiet {
        writeln!(errors, "ct: {shown} expectations have been shown.")?;
    }
    Ok(())
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
