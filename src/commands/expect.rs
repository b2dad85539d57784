//! The expectation table: `ct list expect`.
//!
//! conntrack 1.4.7 asks the kernel for IPv4 expectations only unless given `-f ipv6`
//! (and `-C expect` counts IPv4 only, refusing `-f`); ct asks for both families unless
//! `-f` or an address narrows it, since an IPv6 FTP data channel is as real as an IPv4
//! one.

use std::io::Write;

use anyhow::Result;

use super::{connect, stdout};
use crate::filter::Filter;
use crate::model::table::Table;
use crate::output::{Frame, Print, Printer, Record, Settings};
use crate::plan::{Output, Target};

/// `ct list expect`: every expectation that passes the filter, as it is dumped.
pub fn list(target: &Target, filter: &Filter, output: &Output) -> Result<()> {
    let mut conntrack = connect(target)?;
    let mut out = stdout();
    let mut printer = Printer::new(&output.format, expectation_settings(output));
    let mut shown = 0u64;
    let mut errors = super::Stderr;
    conntrack.expectations(
        filter,
        |expectation, _| {
            printer.print(&mut out, Record::Expectation(expectation), &Frame::NONE)?;
            shown += 1;
            if output.line_buffered {
                out.flush()?;
            }
            Ok(())
        },
        |err| {
            Ok(writeln!(
                errors,
                "{}skipped an expectation the kernel sent: {err}",
                crate::commands::prefix()
            )?)
        },
    )?;
    printer.finish(&mut out)?;
    out.flush()?;
    if !output.quiet {
        writeln!(
            errors,
            "{}{shown} expectations have been shown.",
            crate::commands::prefix()
        )?;
    }
    Ok(())
}

/// What a printer of expectations is made with: `-o timestamp`, the time of printing
/// before each.
pub fn expectation_settings(output: &Output) -> Settings<'static> {
    Settings {
        table: Table::Expect,
        timestamp: output.timestamp,
        ..Settings::default()
    }
}
