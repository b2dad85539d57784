//! `ct get`: one entry, named by a whole tuple, as `conntrack -G` finds it.

use anyhow::{Result, bail};

use super::list::{Lister, report};
use super::{connect, load_labels, stdout};
use crate::cli::GetArgs;
use crate::filter::Filter;
use crate::kernel::*;
use crate::netlink::{Request, attributes, kernel_errno};
use crate::output::{Printer, unix_now_seconds};
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
    let labels = load_labels(&output.labels);
    let (out, terminal) = stdout();
    let printer = Printer::new(
        &output.format,
        labels.as_ref(),
        unix_now_seconds(),
        terminal,
    );
    let everything = Filter::default();
    let mut lister = Lister::new(&everything, Some(printer), out, std::io::stderr(), terminal);
    let result = conntrack.request(&request, |message| lister.on_message(message));
    match result {
        Err(err) if kernel_errno(&err) == Some(libc::ENOENT) => {
            // conntrack's words for it, and its exit status 1.
            bail!("Operation failed: such conntrack doesn't exist")
        }
        Err(err) => Err(err),
        Ok(stats) => {
            let shown = lister.finish()?;
            report(stats, shown, output.quiet, &mut std::io::stderr())
        }
    }
}
