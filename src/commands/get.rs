//! `ct get`: one entry, named by a whole tuple, as `conntrack -G` finds it; `ct get
//! expect`: the one expectation a connection of a whole tuple would match, as
//! `conntrack -G expect` finds it.

use std::io::Write;

use anyhow::{Result, anyhow, bail};

use super::expect::expectation_settings;
use super::list::print_entries;
use super::{Stderr, connect, prefix, stdout};
use crate::netlink::{TupleLookup, kernel_errno};
use crate::output::{Frame, Print, Printer, Record};
use crate::plan;

pub fn run(plan: plan::Get) -> Result<()> {
    let plan::Get {
        target,
        lookup,
        output,
    } = plan;

    let mut conntrack = connect(&target)?;
    let lookup = TupleLookup {
        family: lookup.family.raw(),
        direction: lookup.direction,
        tuple: &lookup.tuple,
        zone: lookup.zone,
        tuple_zone: lookup.tuple_zone,
    };
    let result = print_entries(&output, |on_entry, on_undecodable| {
        conntrack.get(lookup, on_entry, on_undecodable)
    });
    match result {
        // conntrack's words for it, and its exit status 1.
        Err(err) if kernel_errno(&err) == Some(libc::ENOENT) => {
            bail!("Operation failed: such conntrack doesn't exist")
        }
        other => other,
    }
}

/// `ct get expect`: the expectation printed, and "1 expectations have been shown." on
/// stderr unless `--quiet`; none is an error in words for people (exit 1).
pub fn run_expect(plan: plan::GetExpect) -> Result<()> {
    match print_expectation(&plan) {
        Err(err) if kernel_errno(&err) == Some(libc::ENOENT) => bail!(
            "no expectation matches the tuple (-s, -d, -p and its ports{}); ct list \
             expect shows them all",
            if plan.zone.is_some() {
                ", in -w's zone"
            } else {
                ""
            }
        ),
        other => other,
    }
}

/// Asks the kernel for the plan's expectation and prints it (with the summary unless
/// the output is quiet); the kernel's refusal, ENOENT when none matches, comes back
/// as it is (the conntrack mode words it as conntrack does).
pub fn print_expectation(plan: &plan::GetExpect) -> Result<()> {
    let mut conntrack = connect(&plan.target)?;
    let mut out = stdout();
    let mut printer = Printer::new(&plan.output.format, expectation_settings(&plan.output));
    let mut shown = 0u64;
    conntrack.get_expectation(
        plan.family,
        &plan.expected,
        plan.zone,
        |expectation| {
            printer.print(&mut out, Record::Expectation(expectation), &Frame::NONE)?;
            shown += 1;
            Ok(())
        },
        |err| Err(anyhow!("the kernel's answer could not be read: {err}")),
    )?;
    printer.finish(&mut out)?;
    out.flush()?;
    if !plan.output.quiet {
        writeln!(Stderr, "{}{shown} expectations have been shown.", prefix())?;
    }
    Ok(())
}
