//! `ct get`: one entry, named by a whole tuple, as `conntrack -G` finds it.

use anyhow::{Result, bail};

use super::connect;
use super::list::print_entries;
use crate::netlink::{TupleLookup, kernel_errno};
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
