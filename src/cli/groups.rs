//! The argument groups every command flattens into its own arguments: where (the
//! namespace and socket), which (the filters, whose first part is a tuple) and how (the
//! output format). A flag means the same in every command because it is declared once,
//! here.

use std::net::IpAddr;

use clap::{ArgAction, Args, ValueEnum};

use crate::filter::values::{self, AddrMatch, MarkMatch, NatMatch, StatusMatch};
use crate::model::entry::Family;
use crate::output::table::{ColorChoice, Column};

/// Where: which network namespace's table, and the socket's buffer.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Kernel")]
pub struct TargetArgs {
    /// Netlink socket receive buffer size in bytes, as conntrack's -b. Raise it if ct
    /// reports ENOBUFS on a busy table. Example: -b 16777216
    #[arg(short = 'b', long = "buffer-size", value_name = "BYTES",
          value_parser = values::parse_buffer_size)]
    pub buffer_size: Option<u32>,

    /// Read the table of another network namespace: a name from `ip netns list`, a path
    /// to a namespace file (/proc/PID/ns/net, /run/netns/NAME) or a process id. Its
    /// sockets are opened from a thread that entered it (ct never leaves its own), and
    /// /proc fallbacks read its files; one that cannot be entered fails the command
    /// (exit 1).
    /// Example: --netns blue
    #[arg(long = "netns", value_name = "NAME|PATH|PID")]
    pub netns: Option<String>,
}

/// Every network namespace of the host at once.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Kernel")]
pub struct AllNetnsArgs {
    /// Read the table of every network namespace of the host: the named ones
    /// (/run/netns) and every process's (/proc/*/ns/net), each once. Each line is tagged
    /// with its namespace: `[NAME] ` before conntrack's line (the name, `host`, or
    /// its inode, a process and its container: net:INODE,pid:N,container:ID), a `netns`
    /// field in JSON, a NETNS column in tables. Each namespace is read from a thread
    /// that entered it (ct never leaves its own), and where ctnetlink is refused the
    /// /proc fallbacks read each namespace's own files. The namespaces are listed once;
    /// one that vanished since, or cannot be entered, or whose kernel refuses, is
    /// reported on stderr (`ct: network namespace LABEL: WHY; skipped`) and skipped,
    /// and the rest go on: the exit status is 1 only when no namespace could be read.
    /// `list` and `top` first ask each namespace for the kernel's count of its entries
    /// (one small request) and dump only those that hold some, so empty namespaces cost
    /// nearly nothing; an entry created in an empty namespace just after its count is
    /// not shown, as a dump misses one created just after it passed.
    /// Example: ct count --all-netns
    #[arg(long = "all-netns", conflicts_with = "netns")]
    pub all_netns: bool,
}

/// Where from: a saved dump instead of the kernel.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Read a saved table instead of the kernel's: what `conntrack -L` printed (with any
    /// of -o extended,id,ktimestamp,labels), a copy of /proc/net/nf_conntrack, ct's JSON
    /// Lines, or -o save command lines (conntrack's or ct's: -A, -I, -U, -D; numbers in
    /// decimal or 0x hex); `-` for standard input. A line that cannot be read is reported
    /// with its number (quoting at most 80 characters of it) and skipped. A file whose
    /// first non-blank line is in none of these formats (conntrack's -o xml, ct's -o
    /// table, event lines...) is refused with exit status 2, naming what it looks like.
    /// Example: --input sosreport/sos_commands/networking/conntrack_-L
    #[arg(long = "input", value_name = "FILE", conflicts_with_all = ["netns", "buffer_size", "all_netns"])]
    pub input: Option<String>,
}

/// The fields of a connection's tuples: what `ct get` needs to name one entry, and the
/// first part of every filter.
#[derive(Debug, Clone, Args)]
pub struct TupleArgs {
    /// Only entries of these protocols: names (tcp, udp, udplite, sctp, dccp, icmp,
    /// icmpv6, gre, or any in /etc/protocols) or numbers. Example: -p tcp,udp
    #[arg(short = 'p', long = "proto", visible_alias = "protonum", value_name = "PROTO[,PROTO]",
          value_delimiter = ',', action = ArgAction::Append,
          value_parser = values::Offering::new(values::parse_protocol, values::protocol_names))]
    pub proto: Vec<u8>,

    /// Only entries of this layer-3 family. Default: both. Example: -f ipv6
    #[arg(short = 'f', long = "family", value_enum, value_name = "FAMILY")]
    pub family: Option<FamilyArg>,

    /// Original source address, or a prefix. Example: -s 10.0.0.0/8
    #[arg(
        short = 's',
        long = "src",
        visible_alias = "orig-src",
        value_name = "ADDR[/LEN]"
    )]
    pub src: Option<AddrMatch>,

    /// Original destination address, or a prefix. Example: -d 192.0.2.10
    #[arg(
        short = 'd',
        long = "dst",
        visible_alias = "orig-dst",
        value_name = "ADDR[/LEN]"
    )]
    pub dst: Option<AddrMatch>,

    /// Reply source address, or a prefix: where a port-forwarded connection really went.
    /// Example: -r 10.0.0.7
    #[arg(short = 'r', long = "reply-src", value_name = "ADDR[/LEN]")]
    pub reply_src: Option<AddrMatch>,

    /// Reply destination address, or a prefix: the address a masqueraded connection was
    /// rewritten to. Example: -q 192.0.2.1
    #[arg(short = 'q', long = "reply-dst", value_name = "ADDR[/LEN]")]
    pub reply_dst: Option<AddrMatch>,

    /// Original source port, in decimal (tcp, udp, udplite, sctp, dccp: GRE's keys are
    /// --srckey/--dstkey, ICMP's fields --icmp-type/--icmp-code/--icmp-id).
    /// Example: --sport 51000
    #[arg(long = "sport", visible_alias = "orig-port-src", value_name = "PORT",
          value_parser = values::parse_port)]
    pub sport: Option<u16>,

    /// Original destination port, in decimal. Example: --dport 443
    #[arg(long = "dport", visible_alias = "orig-port-dst", value_name = "PORT",
          value_parser = values::parse_port)]
    pub dport: Option<u16>,

    /// Reply source port: where a port-forwarded connection really went.
    /// Example: --reply-port-src 8080
    #[arg(long = "reply-port-src", value_name = "PORT", value_parser = values::parse_port)]
    pub reply_port_src: Option<u16>,

    /// Reply destination port: the port a masqueraded connection was rewritten to.
    /// Example: --reply-port-dst 61000
    #[arg(long = "reply-port-dst", value_name = "PORT", value_parser = values::parse_port)]
    pub reply_port_dst: Option<u16>,

    /// GRE key of the original direction's source: the PPTP call id the kernel keeps in
    /// the tuple's 16-bit port field, in hex (0x10, as ct and conntrack print it) or
    /// decimal. Only GRE entries have keys. conntrack 1.4.7 takes the key options but
    /// ignores them when it lists, deletes or watches; ct filters by them.
    /// Example: -p gre --srckey 0x10
    #[arg(long = "srckey", visible_alias = "orig-key-src", value_name = "KEY",
          value_parser = values::parse_gre_key)]
    pub srckey: Option<u16>,

    /// GRE key of the original direction's destination, in hex or decimal.
    /// Example: -p gre --dstkey 0x20
    #[arg(long = "dstkey", visible_alias = "orig-key-dst", value_name = "KEY",
          value_parser = values::parse_gre_key)]
    pub dstkey: Option<u16>,

    /// GRE key of the reply direction's source (the original's destination key, unless
    /// NAT rewrote it), in hex or decimal. Example: --reply-key-src 0x20
    #[arg(long = "reply-key-src", value_name = "KEY", value_parser = values::parse_gre_key)]
    pub reply_key_src: Option<u16>,

    /// GRE key of the reply direction's destination, in hex or decimal.
    /// Example: --reply-key-dst 0x10
    #[arg(long = "reply-key-dst", value_name = "KEY", value_parser = values::parse_gre_key)]
    pub reply_key_dst: Option<u16>,

    /// ICMP or ICMPv6 type of the original direction (8 is an echo request, 128 its
    /// ICMPv6 counterpart). Example: -p icmp --icmp-type 8
    #[arg(long = "icmp-type", visible_alias = "icmpv6-type", value_name = "TYPE",
          value_parser = values::parse_icmp_field)]
    pub icmp_type: Option<u8>,

    /// ICMP or ICMPv6 code of the original direction. Example: --icmp-code 0
    #[arg(long = "icmp-code", visible_alias = "icmpv6-code", value_name = "CODE",
          value_parser = values::parse_icmp_field)]
    pub icmp_code: Option<u8>,

    /// ICMP or ICMPv6 identifier (the echo id). Example: --icmp-id 4242
    #[arg(long = "icmp-id", visible_alias = "icmpv6-id", value_name = "ID",
          value_parser = values::parse_port)]
    pub icmp_id: Option<u16>,

    /// Zone (an entry without one is in zone 0). Example: -w 7
    #[arg(short = 'w', long = "zone", value_name = "ZONE", value_parser = values::parse_zone)]
    pub zone: Option<u16>,

    /// Zone of the original direction (none means 0). Example: --orig-zone 9
    #[arg(long = "orig-zone", value_name = "ZONE", value_parser = values::parse_zone)]
    pub orig_zone: Option<u16>,

    /// Zone of the reply direction (none means 0). Example: --reply-zone 4
    #[arg(long = "reply-zone", value_name = "ZONE", value_parser = values::parse_zone)]
    pub reply_zone: Option<u16>,
}

/// Which entries: the tuple fields and everything else conntrack filters on, ANDed.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Filters")]
pub struct FilterArgs {
    #[command(flatten)]
    pub tuple: TupleArgs,

    /// A mask for -s, as conntrack's --mask-src. Example: -s 10.0.0.0 --mask-src 255.0.0.0
    #[arg(long = "mask-src", value_name = "MASK")]
    pub mask_src: Option<IpAddr>,

    /// A mask for -d, as conntrack's --mask-dst. Example: -d 10.1.0.0 --mask-dst 255.255.0.0
    #[arg(long = "mask-dst", value_name = "MASK")]
    pub mask_dst: Option<IpAddr>,

    /// Any of the four addresses of an entry (either direction, source or destination),
    /// or a prefix. Example: --addr 10.1.2.3
    #[arg(long = "addr", value_name = "ADDR[/LEN]")]
    pub addr: Option<AddrMatch>,

    /// Any of the four ports of an entry. Example: --port 53
    #[arg(long = "port", value_name = "PORT", value_parser = values::parse_port)]
    pub port: Option<u16>,

    /// Protocol states (tcp, sctp, dccp), any case; without -p, any protocol with that
    /// state. Example: --state ESTABLISHED,TIME_WAIT
    #[arg(long = "state", value_name = "STATE[,STATE]", value_delimiter = ',',
          action = ArgAction::Append,
          value_parser = values::Offering::new(values::parse_state, values::state_names))]
    pub state: Vec<String>,

    /// Connection mark; with a mask, entries whose mark ANDed with MASK equals MARK.
    /// Example: -m 0x10/0xf0
    #[arg(short = 'm', long = "mark", value_name = "MARK[/MASK]")]
    pub mark: Option<MarkMatch>,

    /// Status flags that must all be set; !FLAG must be clear; UNREPLIED means no reply
    /// seen. Flags: ASSURED, SEEN_REPLY, CONFIRMED, EXPECTED, SRC_NAT, DST_NAT,
    /// FIXED_TIMEOUT, OFFLOAD, HW_OFFLOAD... Example: -u ASSURED or -u UNREPLIED
    #[arg(short = 'u', long = "status", value_name = "FLAG[,FLAG]", action = ArgAction::Append,
          value_parser = values::Offering::new(values::parse_status, values::status_names))]
    pub status: Vec<StatusMatch>,

    /// Source-NATed entries; with ADDR, those rewritten to that address (and port).
    /// Example: -n 192.0.2.1
    #[arg(short = 'n', long = "src-nat", value_name = "ADDR[:PORT]", num_args = 0..=1,
          default_missing_value = "")]
    pub src_nat: Option<NatMatch>,

    /// Destination-NATed entries; with ADDR, those forwarded to that address (and port).
    /// Example: -g 10.0.0.7:8080
    #[arg(short = 'g', long = "dst-nat", value_name = "ADDR[:PORT]", num_args = 0..=1,
          default_missing_value = "")]
    pub dst_nat: Option<NatMatch>,

    /// Entries with source or destination NAT; with ADDR, to or from that address.
    /// Example: -j 192.0.2.1
    #[arg(short = 'j', long = "any-nat", value_name = "ADDR[:PORT]", num_args = 0..=1,
          default_missing_value = "")]
    pub any_nat: Option<NatMatch>,

    /// Entries, or expectations, that this conntrack helper follows (ftp, tftp, sip,
    /// ...). Example: --helper ftp
    #[arg(long = "helper", value_name = "NAME")]
    pub helper: Option<String>,

    /// The entry the kernel knows by this id (as `-o id` prints it): ids are the
    /// kernel's, so an entry deleted and made again with the same tuple has another.
    /// Example: --id 4065337923
    #[arg(long = "id", value_name = "ID")]
    pub id: Option<u32>,

    /// Entries carrying all these connlabels (names from /etc/xtables/connlabel.conf).
    /// As with conntrack, the labels are then printed too. Example: -l blocked
    #[arg(short = 'l', long = "label", value_name = "LABEL[,LABEL]", value_delimiter = ',',
          action = ArgAction::Append)]
    pub label: Vec<String>,
}

/// How entries are shown: the format and its modifiers.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format and modifiers, comma-separated, as conntrack's -o. Formats: the
    /// classic line (default), json (JSON Lines, one object per entry, for jq), table
    /// (aligned columns for people), xml (conntrack's XML), save (conntrack command lines
    /// that make the entries again, for conntrack -R). Modifiers: extended (layer-3
    /// name and number first), id (the kernel's entry id), ktimestamp (start and stop
    /// times), labels (connlabel names from /etc/xtables/connlabel.conf), timestamp
    /// (as conntrack: nothing for entries, the time of printing before each
    /// expectation). Example: -o extended,id or -o json
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        value_delimiter = ',',
        value_name = "LIST"
    )]
    pub output: Vec<OutputOption>,

    /// Columns of -o table, in order: family, proto, state, src, dst, nat, ttl, flags,
    /// mark, zone, packets, bytes, helper, use, id, labels. Example: --columns proto,src,dst,ttl
    #[arg(
        long = "columns",
        value_enum,
        value_delimiter = ',',
        value_name = "COLUMN[,COLUMN]"
    )]
    pub columns: Option<Vec<Column>>,

    /// Colour the state and NAT columns of -o table: auto (the default: when stdout is a
    /// terminal and NO_COLOR is not set), always, never. Only for -o table; the other
    /// formats are never coloured.
    /// Example: -o table --color always | less -R
    #[arg(
        long = "color",
        visible_alias = "colour",
        value_enum,
        value_name = "WHEN"
    )]
    pub color: Option<ColorChoice>,

    /// Do not print the "N flow entries have been shown." summary on stderr.
    /// Example: ct list --quiet -o json
    #[arg(long = "quiet")]
    pub quiet: bool,
}

/// The words conntrack's -o takes that `ct list` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputOption {
    /// The classic line with the layer-3 name and number first.
    Extended,
    /// The kernel's entry id in the classic line.
    Id,
    /// The time of printing before each expectation; nothing for entries, as in conntrack.
    Timestamp,
    /// Start and stop times (classic, xml).
    Ktimestamp,
    /// Connlabel names (classic, xml).
    Labels,
    /// conntrack's XML document.
    Xml,
    /// JSON Lines: one object per entry.
    Json,
    /// Each entry as the conntrack command line that makes it (-A ...), for conntrack -R.
    Save,
    /// An aligned table for people.
    Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    Ipv4,
    Ipv6,
}

impl FamilyArg {
    /// The model's family: the one conversion from the command line's.
    pub fn family(self) -> Family {
        match self {
            FamilyArg::Ipv4 => Family::Ipv4,
            FamilyArg::Ipv6 => Family::Ipv6,
        }
    }
}
