//! `ct get`: one entry, named by a whole tuple, as `conntrack -G` finds it.

use anyhow::{Result, bail};

use super::connect;
use super::list::print_entries;
use crate::cli::GetArgs;
use crate::filter::Filter;
use crate::kernel::*;
use crate::netlink::{Request, attributes, kernel_errno};
use crate::plan::{self, Output, Target};

pub fn run(args: &GetArgs) -> Result<()> {
    let target = Target::from_args(&args.target)?;
    let lookup = plan::lookup(&args.tuple)?;
    let output = Output::from_args(&args.output, None)?;

    let mut request_attributes = vec![attributes::tuple(
        lookup.direction,
        &lookup.tuple,
        lookup.tuple_zone,
    )];
    request_attributes.extend(lookup.zone.map(|zone| attributes::be16(CTA_ZONE, zone)));
    let request = Request::single(
        NFNL_SUBSYS_CTNETLINK,
        IPCTNL_MSG_CT_GET,
        lookup.family,
        request_attributes,
        "the get request",
    );

    let mut conntrack = connect(&target)?;
    let everything = Filter::default();
    let result = print_entries(&everything, &output, |on_message| {
        conntrack.request(&request, on_message)
    });
    match result {
        // conntrack's words for it, and its exit status 1.
        Err(err) if kernel_errno(&err) == Some(libc::ENOENT) => {
            bail!("Operation failed: such conntrack doesn't exist")
        }
        other => other,
    }
}
