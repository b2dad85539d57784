//! `ct get`: one entry, named by a whole tuple, as `conntrack -G` finds it; with
//! `--id`, only if the kernel's id for it is that one (the kernel's get does not compare
//! CTA_ID, so the entry it answers with is compared here, as conntrack 1.4.7 does).

use anyhow::{Result, bail};

use super::connect;
use super::delete::NothingMatched;
use super::list::print_entries;
use crate::netlink::{TupleLookup, kernel_errno};
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
