//! From what the user typed to a resolved plan, before any socket opens.
//!
//! Everything that can be wrong with the command line is found here or by clap, so the
//! stages after it only meet the kernel's and the system's errors.

use crate::cli::{FamilyArg, ListArgs, OutputOption};
use crate::kernel::{AF_INET, AF_INET6, AF_UNSPEC};
use crate::labelmap::{CONNLABEL_CONF, LabelMap};
use crate::netlink::DumpRequest;
use crate::output::classic::ClassicOptions;

/// Everything `ct list` will do.
#[derive(Debug)]
pub struct ListPlan {
    /// Network namespace to enter first, as the user named it.
    pub netns: Option<String>,
    /// SO_RCVBUF for the netlink socket, when the user chose one.
    pub socket_buffer: Option<usize>,
    pub request: DumpRequest,
    pub classic: ClassicOptions,
    /// Label names to print, when `-o labels` was asked for.
    pub labels: LabelSource,
}

/// Whether and where to read label names from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSource {
    /// Labels are not printed.
    None,
    /// Read the map from this file when the dump starts.
    File(&'static str),
    /// A map already in hand (tests).
    Map(LabelMap),
}

impl ListPlan {
    pub fn from_args(args: &ListArgs) -> ListPlan {
        let wants = |option| args.output.contains(&option);
        let family = match args.family {
            None => AF_UNSPEC,
            Some(FamilyArg::Ipv4) => AF_INET,
            Some(FamilyArg::Ipv6) => AF_INET6,
        };
        ListPlan {
            netns: args.netns.clone(),
            socket_buffer: args.buffer_size.map(|size| size as usize),
            request: DumpRequest {
                family,
                attributes: Vec::new(),
            },
            classic: ClassicOptions {
                extended: wants(OutputOption::Extended),
                id: wants(OutputOption::Id),
                ktimestamp: wants(OutputOption::Ktimestamp),
            },
            labels: if wants(OutputOption::Labels) {
                LabelSource::File(CONNLABEL_CONF)
            } else {
                LabelSource::None
            },
        }
    }
}
