//! The model: one conntrack entry as `ct` understands it, whatever the output format.
//!
//! An `Entry` borrows its few variable-length fields (helper name, security context,
//! labels) from the netlink receive buffer, so decoding one costs no allocation. Every
//! field the kernel may leave out is an `Option`: an absent mark is not a mark of zero,
//! and an offloaded entry has no timeout. This module only describes; it neither reads
//! the wire nor prints.

use std::net::IpAddr;

use crate::kernel::*;

/// One tracked connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Layer-3 family from the netfilter header (AF_INET, AF_INET6, or something newer).
    pub family: Family,
    /// The original direction: what the first packet looked like.
    pub original: Tuple,
    /// The reply direction: what an answer must look like (NAT shows here).
    pub reply: Tuple,
    /// Seconds left before the entry expires (CTA_TIMEOUT).
    pub timeout: Option<u32>,
    /// The tracker's own state for tcp, sctp and dccp (CTA_PROTOINFO).
    pub state: Option<ProtoState>,
    /// The IPS_* bits (CTA_STATUS).
    pub status: Option<Status>,
    pub mark: Option<u32>,
    /// The SELinux secmark number; current kernels send `secctx` instead.
    pub secmark: Option<u32>,
    /// The entry's zone (CTA_ZONE), sent only when it is not the default zone 0.
    pub zone: Option<u16>,
    /// Reference count (CTA_USE).
    pub use_count: Option<u32>,
    /// The kernel's id for this entry (CTA_ID).
    pub id: Option<u32>,
    /// Packet and byte counters per direction, sent when accounting is on.
    pub counters_original: Option<Counters>,
    pub counters_reply: Option<Counters>,
    /// Creation and destruction times in nanoseconds since the epoch (CTA_TIMESTAMP),
    /// sent when `net.netfilter.nf_conntrack_timestamp` is on.
    pub timestamp_start: Option<u64>,
    pub timestamp_stop: Option<u64>,
    /// When the kernel queued the event that carried this entry, in nanoseconds since
    /// the epoch (CTA_TIMESTAMP_EVENT): events only, with timestamps on.
    pub event_time: Option<u64>,
    /// The connlabel bitmap, bit 0 first in the lowest byte (CTA_LABELS).
    pub labels: Option<Labels<'a>>,
    /// The SELinux security context (CTA_SECCTX_NAME), as the kernel sent it.
    pub secctx: Option<&'a [u8]>,
    /// The conntrack helper attached to the entry, e.g. `ftp` (CTA_HELP_NAME).
    pub helper: Option<&'a [u8]>,
    /// TCP: the window scale each direction's sender announced
    /// (CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, _REPLY).
    pub tcp_wscale_original: Option<u8>,
    pub tcp_wscale_reply: Option<u8>,
    /// TCP: the tracker's IP_CT_TCP_FLAG_* of each direction's sender
    /// (CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, _REPLY).
    pub tcp_flags_original: Option<TcpFlags>,
    pub tcp_flags_reply: Option<TcpFlags>,
    /// SCTP: each direction's verification tag (CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, _REPLY).
    pub sctp_vtag_original: Option<u32>,
    pub sctp_vtag_reply: Option<u32>,
    /// DCCP: the role of the original direction's sender (CTA_PROTOINFO_DCCP_ROLE).
    pub dccp_role: Option<DccpRole>,
    /// DCCP: the sequence number of the handshake (CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ).
    pub dccp_handshake_seq: Option<u64>,
    /// NAT's TCP sequence adjustment of each direction (CTA_SEQ_ADJ_ORIG, _REPLY), sent
    /// with IPS_SEQ_ADJUST once a helper changed a payload's length.
    pub seq_adj_original: Option<SeqAdj>,
    pub seq_adj_reply: Option<SeqAdj>,
    /// The SYN proxy's numbers (CTA_SYNPROXY).
    pub synproxy: Option<Synproxy>,
    /// The original tuple of the connection this one was expected by (CTA_TUPLE_MASTER),
    /// for entries with IPS_EXPECTED: an FTP data connection's control connection.
    pub master: Option<Tuple>,
}

impl Entry<'_> {
    /// An entry with these tuples and nothing else: every optional field absent.
    pub fn new(family: Family, original: Tuple, reply: Tuple) -> Self {
        Entry {
            family,
            original,
            reply,
            timeout: None,
            state: None,
            status: None,
            mark: None,
            secmark: None,
            zone: None,
            use_count: None,
            id: None,
            counters_original: None,
            counters_reply: None,
            timestamp_start: None,
            timestamp_stop: None,
            event_time: None,
            labels: None,
            secctx: None,
            helper: None,
            tcp_wscale_original: None,
            tcp_wscale_reply: None,
            tcp_flags_original: None,
            tcp_flags_reply: None,
            sctp_vtag_original: None,
            sctp_vtag_reply: None,
            dccp_role: None,
            dccp_handshake_seq: None,
            seq_adj_original: None,
            seq_adj_reply: None,
            synproxy: None,
            master: None,
        }
    }

    /// The layer-4 protocol number, taken from the original tuple as conntrack does.
    pub fn protonum(&self) -> u8 {
        self.original.protonum
    }

    /// The protocol's conntrack name, or `None` for a protocol conntrack has no tracker for.
    pub fn proto_name(&self) -> Option<&'static str> {
        proto_name(self.protonum())
    }

    /// True when the kernel set IPS_`bit`.
    pub fn has_status(&self, bit: u32) -> bool {
        self.status.is_some_and(|s| s.contains(bit))
    }

    /// True when the entry has seen no reply: it has a status without IPS_SEEN_REPLY
    /// (conntrack's `[UNREPLIED]`).
    pub fn is_unreplied(&self) -> bool {
        self.status.is_some() && !self.has_status(IPS_SEEN_REPLY_BIT)
    }

    /// Source NAT: the reply goes back to another address, or another source port (ICMP
    /// id, GRE key), than the original came from. `None` when neither was rewritten.
    ///
    /// The address test is libnetfilter_conntrack's IS_SNAT (an entry without a status
    /// counts, as there). The port test compares the halves that hold the same field in
    /// both directions; libnetfilter_conntrack's IS_SPAT compares ICMP's id with its
    /// type and code, which makes every masqueraded ping look port-translated.
    pub fn source_nat(&self) -> Option<NatRewrite> {
        let (original, reply) = (&self.original, &self.reply);
        let done = self.status.is_none_or(|s| s.contains(IPS_SRC_NAT_DONE_BIT));
        let port = match (original.l4, reply.l4) {
            (L4::Ports { sport, .. }, L4::Ports { dport, .. }) => Some((sport, dport)),
            (L4::Gre { srckey, .. }, L4::Gre { dstkey, .. }) => Some((srckey, dstkey)),
            (L4::Icmp { id: before, .. }, L4::Icmp { id: after, .. }) => Some((before, after)),
            _ => None,
        };
        NatRewrite::new(
            done && reply.dst != original.src,
            self.has_status(IPS_SRC_NAT_DONE_BIT) && port.is_some_and(|(b, a)| b != a),
            reply.dst,
            port.map(|(_, after)| after),
            reply.ports().map(|(_, dport)| dport),
        )
    }

    /// Destination NAT (IS_DNAT): the reply comes from another address, or another port
    /// (GRE key), than the original went to. ICMP has no destination half NAT could
    /// rewrite. `None` when nothing was rewritten.
    pub fn destination_nat(&self) -> Option<NatRewrite> {
        let (original, reply) = (&self.original, &self.reply);
        let done = self.has_status(IPS_DST_NAT_DONE_BIT);
        let port = match (original.l4, reply.l4) {
            (L4::Ports { dport, .. }, L4::Ports { sport, .. }) => Some((dport, sport)),
            (L4::Gre { dstkey, .. }, L4::Gre { srckey, .. }) => Some((dstkey, srckey)),
            _ => None,
        };
        NatRewrite::new(
            done && reply.src != original.dst,
            done && port.is_some_and(|(b, a)| b != a),
            reply.src,
            port.map(|(_, after)| after),
            reply.ports().map(|(sport, _)| sport),
        )
    }
}

/// How NAT rewrote one side of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatRewrite {
    /// The address was rewritten.
    pub address_rewritten: bool,
    /// The port (or the ICMP id, or the GRE key) was rewritten.
    pub port_rewritten: bool,
    /// Where the connection was rewritten to: the reply's destination for source NAT,
    /// the reply's source for destination NAT.
    pub address: Option<IpAddr>,
    /// The port (ICMP id, GRE key) beside that address, for protocols that have one.
    pub l4: Option<u16>,
    /// The same as a port, for protocols that have ports.
    pub port: Option<u16>,
}

impl NatRewrite {
    fn new(
        address_rewritten: bool,
        port_rewritten: bool,
        address: Option<IpAddr>,
        l4: Option<u16>,
        port: Option<u16>,
    ) -> Option<NatRewrite> {
        (address_rewritten || port_rewritten).then_some(NatRewrite {
            address_rewritten,
            port_rewritten,
            address,
            l4,
            port,
        })
    }
}

/// The layer-3 family of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Ipv4,
    Ipv6,
    Other(u8),
}

impl Family {
    pub fn from_raw(raw: u8) -> Family {
        match raw {
            AF_INET => Family::Ipv4,
            AF_INET6 => Family::Ipv6,
            other => Family::Other(other),
        }
    }

    /// The family an address belongs to.
    pub fn of(address: IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    pub fn raw(self) -> u8 {
        match self {
            Family::Ipv4 => AF_INET,
            Family::Ipv6 => AF_INET6,
            Family::Other(raw) => raw,
        }
    }

    /// The address conntrack prints where the kernel left one out: 0.0.0.0 or ::, and
    /// none for a family it cannot print addresses of.
    pub fn zero_address(self) -> Option<IpAddr> {
        match self {
            Family::Ipv4 => Some(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            Family::Ipv6 => Some(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)),
            Family::Other(_) => None,
        }
    }

    /// The name conntrack prints with `-o extended`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
            Family::Other(_) => "unknown",
        }
    }
}

/// One direction of a connection: addresses, protocol and its layer-4 identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub protonum: u8,
    pub l4: L4,
    /// The zone of this direction alone (CTA_TUPLE_ZONE), when it has its own.
    pub zone: Option<u16>,
}

impl Tuple {
    /// The source and destination ports, for protocols that have ports.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.l4 {
            L4::Ports { sport, dport } => Some((sport, dport)),
            _ => None,
        }
    }
    /// The tuple an answer to this one carries, as the kernel and conntrack -I derive a
    /// reply tuple the user left out: addresses and ports (GRE keys) swapped, an ICMP
    /// query's type turned into its reply's, the same id and code; no zone of its own.
    pub fn reversed(&self) -> Tuple {
        let l4 = match self.l4 {
            L4::Ports { sport, dport } => L4::Ports {
                sport: dport,
                dport: sport,
            },
            L4::Gre { srckey, dstkey } => L4::Gre {
                srckey: dstkey,
                dstkey: srckey,
            },
            L4::Icmp {
                icmp_type,
                code,
                id,
            } => L4::Icmp {
                icmp_type: reply_icmp_type(self.protonum, icmp_type),
                code,
                id,
            },
            L4::None => L4::None,
        };
        Tuple {
            src: self.dst,
            dst: self.src,
            protonum: self.protonum,
            l4,
            zone: None,
        }
    }
}

/// The type the kernel expects in the reply to an ICMP or ICMPv6 query of `sent`
/// (nf_conntrack_proto_icmp.c, nf_conntrack_proto_icmpv6.c); the same type for others.
pub fn reply_icmp_type(protonum: u8, sent: u8) -> u8 {
    let pairs: &[(u8, u8)] = if protonum == IPPROTO_ICMP {
        // echo, timestamp, information and address mask requests and their replies.
        &[(8, 0), (13, 14), (15, 16), (17, 18)]
    } else {
        // echo and node information queries and their replies.
        &[(128, 129), (139, 140)]
    };
    pairs
        .iter()
        .find_map(|&(request, reply)| match sent {
            _ if sent == request => Some(reply),
            _ if sent == reply => Some(request),
            _ => None,
        })
        .unwrap_or(sent)
}

/// What identifies a flow at layer 4, by protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    /// tcp, udp, udplite, sctp and dccp.
    Ports { sport: u16, dport: u16 },
    /// icmp and icmpv6; the kernel puts the id in the source half, type and code in
    /// the destination half.
    Icmp { icmp_type: u8, code: u8, id: u16 },
    /// gre (PPTP): the call ids the kernel keeps in the port fields.
    Gre { srckey: u16, dstkey: u16 },
    /// Any other protocol: conntrack tracks it by addresses alone.
    None,
}

/// A tracker's protocol state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoState {
    Tcp(u8),
    Sctp(u8),
    Dccp(u8),
}

/// A protocol whose tracker has states: its number, how to make one of its states, and
/// their names (the kernel's, in its order).
pub type Stateful = (u8, fn(u8) -> ProtoState, &'static [&'static str]);

/// The protocols whose trackers have states: the one list every reader, the `--state`
/// filter and its completions take them from.
pub const STATEFUL: [Stateful; 3] = [
    (IPPROTO_TCP, ProtoState::Tcp, &TCP_CONNTRACK_NAMES),
    (IPPROTO_SCTP, ProtoState::Sctp, &SCTP_CONNTRACK_NAMES),
    (IPPROTO_DCCP, ProtoState::Dccp, &DCCP_CONNTRACK_NAMES),
];

impl ProtoState {
    /// The state of `protonum`'s tracker that conntrack prints as `name`: None when the
    /// protocol has no states, Some(None) when it has none of that name.
    pub fn parse(protonum: u8, name: &str) -> Option<Option<ProtoState>> {
        let (_, make, names) = STATEFUL.iter().find(|(number, _, _)| *number == protonum)?;
        Some(
            names
                .iter()
                .position(|known| *known == name)
                .and_then(|index| u8::try_from(index).ok())
                .map(make),
        )
    }

    /// The state's tracker: its place in [`STATEFUL`], and what [`STATEFUL`] says of it.
    pub fn tracker(self) -> (usize, &'static Stateful) {
        STATEFUL
            .iter()
            .enumerate()
            .find(|(_, (_, make, _))| make(self.raw()) == self)
            // Unreachable: every variant is made by one tracker of STATEFUL (a test
            // checks).
            .unwrap_or((0, &STATEFUL[0]))
    }

    /// The number of the protocol whose tracker has this state.
    pub fn protonum(self) -> u8 {
        self.tracker().1.0
    }

    /// The state's name as conntrack prints it. A number past the known names prints as
    /// `NONE`, as libnetfilter_conntrack does.
    pub fn name(self) -> &'static str {
        let (_, (_, _, names)) = self.tracker();
        names
            .get(usize::from(self.raw()))
            .copied()
            .unwrap_or(names[0])
    }

    pub fn raw(self) -> u8 {
        match self {
            ProtoState::Tcp(raw) | ProtoState::Sctp(raw) | ProtoState::Dccp(raw) => raw,
        }
    }
}

/// The IPS_* status bits of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Status(pub u32);

impl Status {
    pub fn contains(self, bit: u32) -> bool {
        bit < 32 && self.0 & (1 << bit) != 0
    }

    /// The names of the bits that are set, lowest first; unnamed bits are left out.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        IPS_NAMES
            .iter()
            .filter(move |(bit, _)| self.contains(*bit))
            .map(|(_, name)| *name)
    }
}

/// Packet and byte counters of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// The connlabel bitmap as the kernel sends it: an array of native-endian `u32` words
/// (`nf_conn_labels.bits`), so bit N is bit N%32 of word N/32. The kernel keeps
/// [`LabelBits::BITS`] of them; [`LabelBits`] is a bitmap of that size to build one in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels<'a>(pub &'a [u8]);

impl Labels<'_> {
    /// The bits the kernel can hold ([`LabelBits::BITS`]), bit N as bit N of the number;
    /// a bit past them (from a longer bitmap than the kernel sends) is left out.
    pub fn as_u128(self) -> u128 {
        self.bits()
            .filter(|bit| *bit < LabelBits::BITS)
            .fold(0, |set, bit| set | 1 << bit)
    }

    /// The numbers of the bits that are set, lowest first.
    pub fn bits(self) -> impl Iterator<Item = u32> {
        self.0
            .chunks_exact(4)
            .enumerate()
            .flat_map(|(word_index, word)| {
                let word = u32::from_ne_bytes([word[0], word[1], word[2], word[3]]);
                (0..32u32)
                    .filter(move |bit| word & (1 << bit) != 0)
                    .map(move |bit| word_index as u32 * 32 + bit)
            })
    }
}

/// The kernel's label area, NF_CT_LABELS_MAX_SIZE bytes in the layout of [`Labels`]: what
/// a reader of saved text sets bits in, for the entry to borrow as its [`Labels`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LabelBits([u8; NF_CT_LABELS_MAX_SIZE]);

// Labels::as_u128 holds every bit the kernel has.
const _: () = assert!(LabelBits::BITS == u128::BITS);

impl LabelBits {
    /// How many label bits the kernel has: 128.
    pub const BITS: u32 = NF_CT_LABELS_MAX_SIZE as u32 * 8;

    /// No bit set.
    pub fn new() -> LabelBits {
        LabelBits::default()
    }

    /// The bitmap of the bits set in `set`, bit N as bit N of the number: the inverse of
    /// [`Labels::as_u128`].
    pub fn from_u128(set: u128) -> LabelBits {
        let mut bitmap = LabelBits::new();
        for (index, word) in bitmap.0.chunks_exact_mut(4).enumerate() {
            // The low 32 bits of what is left: word `index` of the number.
            let value = (set >> (32 * index)) as u32;
            word.copy_from_slice(&value.to_ne_bytes());
        }
        bitmap
    }

    /// Sets bit `bit`; a bit past [`Self::BITS`] is an error in words for people.
    pub fn set(&mut self, bit: u32) -> Result<(), String> {
        if bit >= Self::BITS {
            return Err(format!(
                "label bit {bit} is past the kernel's {} bits",
                Self::BITS
            ));
        }
        let at = (bit / 32) as usize * 4;
        let mut word = [0u8; 4];
        word.copy_from_slice(&self.0[at..at + 4]);
        let value = u32::from_ne_bytes(word) | 1 << (bit % 32);
        self.0[at..at + 4].copy_from_slice(&value.to_ne_bytes());
        Ok(())
    }

    /// The bitmap as an entry carries it.
    pub fn labels(&self) -> Labels<'_> {
        Labels(&self.0)
    }
}

/// The TCP tracker's flags of one direction (struct nf_ct_tcp_flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags {
    /// The IP_CT_TCP_FLAG_* bits that are set.
    pub flags: u8,
    /// Which bits a request changes; dumps send it as zero.
    pub mask: u8,
}

impl TcpFlags {
    pub fn contains(self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The names of the flags that are set, lowest bit first (every bit has a name).
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        IP_CT_TCP_FLAG_NAMES
            .iter()
            .filter(move |(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
    }
}

/// The role of a DCCP endpoint (enum ct_dccp_roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DccpRole {
    Client,
    Server,
    Other(u8),
}

impl DccpRole {
    pub fn from_raw(raw: u8) -> DccpRole {
        match raw {
            CT_DCCP_ROLE_CLIENT => DccpRole::Client,
            CT_DCCP_ROLE_SERVER => DccpRole::Server,
            other => DccpRole::Other(other),
        }
    }

    pub fn raw(self) -> u8 {
        match self {
            DccpRole::Client => CT_DCCP_ROLE_CLIENT,
            DccpRole::Server => CT_DCCP_ROLE_SERVER,
            DccpRole::Other(raw) => raw,
        }
    }

    /// The role named `client` or `server` (any case); `None` for another word.
    pub fn from_name(name: &str) -> Option<DccpRole> {
        [DccpRole::Client, DccpRole::Server]
            .into_iter()
            .find(|role| {
                role.name()
                    .is_some_and(|known| known.eq_ignore_ascii_case(name))
            })
    }

    /// `client` or `server`; `None` for a role the kernel does not define.
    pub fn name(self) -> Option<&'static str> {
        match self {
            DccpRole::Client => Some("client"),
            DccpRole::Server => Some("server"),
            DccpRole::Other(_) => None,
        }
    }
}

/// NAT's sequence adjustment of one direction (struct nf_ct_seqadj): where the last
/// change of length was, and how far sequence numbers move before and after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeqAdj {
    pub correction_pos: u32,
    pub offset_before: i32,
    pub offset_after: i32,
}

/// The SYN proxy's state of an entry (struct nf_conn_synproxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Synproxy {
    /// The initial sequence number the proxy answered the client with.
    pub isn: u32,
    /// The client's initial timestamp.
    pub its: u32,
    /// The offset between the proxy's and the server's timestamps.
    pub tsoff: u32,
}

impl Synproxy {
    /// True when every number is zero: the kernel gives every entry made over ctnetlink
    /// (`conntrack -I`) a synproxy area, which stays zero unless SYNPROXY handles it.
    pub fn is_unused(self) -> bool {
        self == Synproxy::default()
    }
}

/// A layer-4 protocol conntrack has an extension for, and so a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    /// What conntrack prints and takes: `tcp`, `icmpv6`...
    pub name: &'static str,
    pub number: u8,
    /// Whether its tuples carry ports (rather than ICMP's type, code and id, GRE's keys).
    pub ports: bool,
}

/// The protocols conntrack names, in the order `-p` offers them: the one table every
/// reader, printer and the command line take names and numbers from.
pub const PROTOCOLS: [Protocol; 8] = {
    const fn named(name: &'static str, number: u8, ports: bool) -> Protocol {
        Protocol {
            name,
            number,
            ports,
        }
    }
    [
        named("tcp", IPPROTO_TCP, true),
        named("udp", IPPROTO_UDP, true),
        named("udplite", IPPROTO_UDPLITE, true),
        named("sctp", IPPROTO_SCTP, true),
        named("dccp", IPPROTO_DCCP, true),
        named("icmp", IPPROTO_ICMP, false),
        named("icmpv6", IPPROTO_ICMPV6, false),
        named("gre", IPPROTO_GRE, false),
    ]
};

/// The named protocol of this number, if conntrack has an extension for it.
pub fn protocol(protonum: u8) -> Option<&'static Protocol> {
    PROTOCOLS.iter().find(|p| p.number == protonum)
}

/// True for the protocols whose tuples carry ports: tcp, udp, udplite, sctp, dccp.
pub fn has_ports(protonum: u8) -> bool {
    protocol(protonum).is_some_and(|p| p.ports)
}

/// conntrack's name for a layer-4 protocol number, or `None` where it prints `unknown`.
pub fn proto_name(protonum: u8) -> Option<&'static str> {
    protocol(protonum).map(|p| p.name)
}

/// A protocol as messages name it: `tcp`, or `protocol 50`.
pub fn protocol_text(protonum: u8) -> String {
    proto_name(protonum).map_or_else(|| format!("protocol {protonum}"), str::to_owned)
}

/// The protocols whose trackers have states, as a message lists them: `tcp, sctp and
/// dccp`, in the order of [`STATEFUL`].
pub fn stateful_protocols_text() -> String {
    let names: Vec<String> = STATEFUL
        .iter()
        .map(|(protonum, _, _)| protocol_text(*protonum))
        .collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The number of a protocol conntrack names (exactly as it prints it); the inverse of
/// [`proto_name`].
pub fn protonum_of(name: &str) -> Option<u8> {
    PROTOCOLS.iter().find(|p| p.name == name).map(|p| p.number)
}

/// A TCP entry from `src` to `dst` with its reply, and nothing else: what the unit
/// tests of the stages after the model build their cases from.
#[cfg(test)]
pub(crate) fn tcp_entry(src: &str, dst: &str, sport: u16, dport: u16) -> Entry<'static> {
    let tuple = |src: &str, dst: &str, sport, dport| Tuple {
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        protonum: IPPROTO_TCP,
        l4: L4::Ports { sport, dport },
        zone: None,
    };
    Entry::new(
        Family::Ipv4,
        tuple(src, dst, sport, dport),
        tuple(dst, src, dport, sport),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_follow_conntrack_and_fall_back_to_none() {
        assert_eq!(ProtoState::Tcp(3).name(), "ESTABLISHED");
        assert_eq!(ProtoState::Tcp(9).name(), "SYN_SENT2");
        assert_eq!(ProtoState::Tcp(10).name(), "NONE");
        assert_eq!(ProtoState::Sctp(2).name(), "COOKIE_WAIT");
        assert_eq!(ProtoState::Sctp(200).name(), "NONE");
        assert_eq!(ProtoState::Dccp(4).name(), "OPEN");
    }

    #[test]
    fn every_state_finds_its_tracker_in_stateful() {
        for (index, &(protonum, make, names)) in STATEFUL.iter().enumerate() {
            let state = make(1);
            assert_eq!(state.tracker().0, index);
            assert_eq!(state.protonum(), protonum);
            assert_eq!(state.name(), names[1]);
        }
        assert_eq!(ProtoState::Sctp(1).protonum(), IPPROTO_SCTP);
        assert_eq!(stateful_protocols_text(), "tcp, sctp and dccp");
    }

    #[test]
    fn a_label_set_as_a_number_is_the_bitmap_it_came_from() {
        let set: u128 = 1 | 1 << 31 | 1 << 32 | 1 << 127;
        let bitmap = LabelBits::from_u128(set);
        assert_eq!(bitmap.labels().bits().collect::<Vec<_>>(), [0, 31, 32, 127]);
        assert_eq!(bitmap.labels().as_u128(), set);
        assert_eq!(LabelBits::from_u128(0), LabelBits::new());
    }

    #[test]
    fn status_names_in_bit_order() {
        let status = Status(1 << IPS_SEEN_REPLY_BIT | 1 << IPS_ASSURED_BIT | 1 << 31);
        assert_eq!(
            status.names().collect::<Vec<_>>(),
            ["SEEN_REPLY", "ASSURED"]
        );
    }

    #[test]
    fn tcp_flag_names_in_bit_order() {
        let flags = TcpFlags {
            flags: 0x27,
            mask: 0,
        };
        assert_eq!(
            flags.names().collect::<Vec<_>>(),
            ["WINDOW_SCALE", "SACK_PERM", "CLOSE_INIT", "MAXACK_SET"]
        );
        let all = TcpFlags {
            flags: 0xff,
            mask: 0,
        };
        assert_eq!(all.names().count(), 8);
    }

    #[test]
    fn dccp_roles_by_kernel_number() {
        assert_eq!(DccpRole::from_raw(0).name(), Some("client"));
        assert_eq!(DccpRole::from_raw(1).name(), Some("server"));
        assert_eq!(DccpRole::from_raw(7), DccpRole::Other(7));
        assert_eq!(DccpRole::from_raw(7).name(), None);
        assert_eq!(DccpRole::from_raw(7).raw(), 7);
        assert_eq!(DccpRole::Server.raw(), CT_DCCP_ROLE_SERVER);
    }

    #[test]
    fn label_bits_span_words() {
        let mut raw = [0u8; 16];
        raw[0..4].copy_from_slice(&(1u32 | 1 << 5).to_ne_bytes());
        raw[8..12].copy_from_slice(&(1u32 << 1).to_ne_bytes());
        assert_eq!(Labels(&raw).bits().collect::<Vec<_>>(), [0, 5, 65]);
    }

    #[test]
    fn label_bits_are_set_in_the_kernels_layout() {
        let mut bits = LabelBits::new();
        for bit in [0, 5, 65, 127] {
            bits.set(bit).unwrap();
        }
        assert_eq!(bits.labels().bits().collect::<Vec<_>>(), [0, 5, 65, 127]);
        assert_eq!(bits.labels().as_u128(), 1 | 1 << 5 | 1 << 65 | 1 << 127);
        assert_eq!(
            bits.set(128),
            Err("label bit 128 is past the kernel's 128 bits".to_string())
        );
        assert_eq!(
            bits.set(u32::MAX),
            Err("label bit 4294967295 is past the kernel's 128 bits".to_string())
        );
        // A longer bitmap than the kernel's keeps its bits, but not in the u128.
        let mut raw = [0u8; 20];
        raw[16..20].copy_from_slice(&1u32.to_ne_bytes());
        assert_eq!(Labels(&raw).bits().collect::<Vec<_>>(), [128]);
        assert_eq!(Labels(&raw).as_u128(), 0);
    }
}
