//! `ct get`: one entry, named by a whole tuple, as `conntrack -G` finds it; with
//! `--id`, only if the kernel's id for it is that one (the kernel's get does not compare
//! CTA_ID, so the entry it answers with is compared here, as conntrack 1.4.7 does).
//! `ct get expect`: the one expectation a connection of a whole tuple would match, as
//! `conntrack -G expect` finds it.

use std::io::Write;

use anyhow::{Result, anyhow, bail};

use super::delete::NothingMatched;
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
        id,
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
    let mut another_id = false;
    let result = print_entries(&output, |on_entry, on_undecodable| {
        let on_entry = |entry: &crate::model::entry::Entry<'_>| {
            if id.is_some_and(|id| entry.id != Some(id)) {
                another_id = true;
                return Ok(());
            }
            on_entry(entry)
        };
        conntrack.get(lookup, on_entry, on_undecodable)
    });
    match result {
        // conntrack's words for it, and its exit status 1.
        Err(err) if kernel_errno(&err) == Some(libc::ENOENT) => {
            bail!("Operation failed: such conntrack doesn't exist")
        }
        // The summary said 0 shown, as conntrack says it; exit 1.
        Ok(()) if another_id => Err(NothingMatched.into()),
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
