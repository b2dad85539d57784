//! The command line as the user typed it: clap types whose doc comments are the help.
//!
//! Nothing here opens a socket or reads a file; `config` turns these values into a
//! checked plan first, so no work starts on half-checked input.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Inspect the Linux connection-tracking (conntrack) table.
///
/// ct reads the kernel's conntrack table over ctnetlink. Reading it needs root or
/// CAP_NET_ADMIN.
#[derive(Debug, Parser)]
#[command(name = "ct", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the conntrack table, one entry per line, as `conntrack -L` prints it.
    ///
    /// Example: ct list -o extended,id --netns blue
    #[command(visible_alias = "L")]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output modifiers, comma-separated, as conntrack's -o: extended (layer-3 name and
    /// number first), id (the kernel's entry id), ktimestamp (start and stop times of the
    /// entry), labels (connlabel names from /etc/xtables/connlabel.conf), timestamp
    /// (accepted; conntrack only uses it for events). Example: -o extended,id
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        value_delimiter = ',',
        value_name = "LIST"
    )]
    pub output: Vec<OutputOption>,

    /// Only entries of this layer-3 family (the kernel filters). Default: both.
    #[arg(short = 'f', long = "family", value_enum, value_name = "FAMILY")]
    pub family: Option<FamilyArg>,

    /// Netlink socket receive buffer size in bytes, as conntrack's -b. Raise it if ct
    /// reports ENOBUFS on a busy table. Example: -b 16777216
    #[arg(short = 'b', long = "buffer-size", value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub buffer_size: Option<u32>,

    /// Read the table of another network namespace: a name from `ip netns list`, a path
    /// to a namespace file (/proc/PID/ns/net, /run/netns/NAME) or a process id.
    /// Example: --netns blue
    #[arg(long = "netns", value_name = "NAME|PATH|PID")]
    pub netns: Option<String>,
}

/// The words conntrack's -o takes that `ct list` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputOption {
    Extended,
    Id,
    Timestamp,
    Ktimestamp,
    Labels,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    Ipv4,
    Ipv6,
}
