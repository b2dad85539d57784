//! conntrack 1.4.7's tables: its commands, its options (long names, short letters, bit
//! order and the names its messages use), which options each command takes, and the
//! options each protocol adds once `-p` names it.

use super::getopt::{HasArg, LongOpt};
use crate::kernel::{
    IPPROTO_DCCP, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP,
    IPPROTO_UDP, IPPROTO_UDPLITE,
};

/// conntrack's commands, in its bit order (`CT_LIST_BIT`...), which is also the row
/// order of its matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    List,
    Create,
    Update,
    Delete,
    Get,
    Flush,
    Event,
    Version,
    Help,
    ExpList,
    ExpCreate,
    ExpDelete,
    ExpGet,
    ExpFlush,
    ExpEvent,
    Count,
    ExpCount,
    Stats,
    ExpStats,
    Add,
}

impl Command {
    pub fn bit(self) -> usize {
        self as usize
    }
}

/// The matrix row of a command (or of none, which takes no option: conntrack reads
/// past its table there, and in practice refuses the option).
pub fn row(command: Option<Command>) -> [u8; OPTIONS] {
    let text = match command {
        Some(Command::List) => "22222022000220202222202220022",
        Some(Command::Create | Command::Add) => "33331120000002200220000202022",
        Some(Command::Update) => "22222220000220222222000022200",
        Some(Command::Delete) => "22222220000220222222000220022",
        Some(Command::Get) => "33331000000000020002000020000",
        Some(Command::Flush) => "00000000000000002000000000000",
        Some(Command::Event) => "22222000200220202222222220022",
        Some(Command::Help) => "00002000000000000000000000000",
        Some(Command::ExpList) => "00000000000000002002000000000",
        Some(Command::ExpCreate) => "11221120011110000000000000000",
        Some(Command::ExpDelete | Command::ExpGet) => "11221000000000000000000000000",
        Some(Command::ExpEvent) => "00000000000000000002000000000",
        _ => "00000000000000000000000000000",
    };
    let mut row = [0; OPTIONS];
    for (cell, digit) in row.iter_mut().zip(text.bytes()) {
        *cell = digit - b'0';
    }
    row
}

/// How many option bits conntrack has (`NUMBER_OF_OPT`).
pub const OPTIONS: usize = 29;

/// The option bits, as conntrack numbers them.
pub mod bit {
    pub const SRC: usize = 0;
    pub const DST: usize = 1;
    pub const REPLY_SRC: usize = 2;
    pub const REPLY_DST: usize = 3;
    pub const PROTO: usize = 4;
    pub const TIMEOUT: usize = 5;
    pub const STATUS: usize = 6;
    pub const ZERO: usize = 7;
    pub const EVENT_MASK: usize = 8;
    pub const TUPLE_SRC: usize = 9;
    pub const TUPLE_DST: usize = 10;
    pub const MASK_SRC: usize = 11;
    pub const MASK_DST: usize = 12;
    pub const MARK: usize = 14;
    pub const ID: usize = 15;
    pub const FAMILY: usize = 16;
    pub const SRC_NAT: usize = 17;
    pub const DST_NAT: usize = 18;
    pub const OUTPUT: usize = 19;
    pub const SECMARK: usize = 20;
    pub const BUFFER_SIZE: usize = 21;
    pub const ANY_NAT: usize = 22;
    pub const ZONE: usize = 23;
    pub const LABEL: usize = 24;
    pub const LABEL_ADD: usize = 25;
    pub const LABEL_DEL: usize = 26;
    pub const ORIG_ZONE: usize = 27;
    pub const REPLY_ZONE: usize = 28;
}

/// The names conntrack's messages give the option bits (`optflags`).
pub const OPTION_NAMES: [&str; OPTIONS] = [
    "src",
    "dst",
    "reply-src",
    "reply-dst",
    "protonum",
    "timeout",
    "status",
    "zero",
    "event-mask",
    "tuple-src",
    "tuple-dst",
    "mask-src",
    "mask-dst",
    "nat-range",
    "mark",
    "id",
    "family",
    "src-nat",
    "dst-nat",
    "output",
    "secmark",
    "buffer-size",
    "any-nat",
    "zone",
    "label",
    "label-add",
    "label-del",
    "orig-zone",
    "reply-zone",
];

/// What an option stands for: one of conntrack's own (by its short letter, which for
/// the long-only ones is a punctuation character, as in conntrack), or one a protocol
/// added (by its number in that protocol's table, from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opt {
    Main(char),
    Proto(u8),
}

/// conntrack's short options (`getopt_str`, after its leading `:`).
const SHORT: &str =
    "L::I::U::D::G::E::F::A::hVs:d:r:q:p:t:u:e:a:z[:]:{:}:m:i:f:o:n::g::c:b:C::Sj::w:l:<:>::(:):";

/// What a short option letter stands for, and how it takes its argument.
pub fn short(letter: char) -> Option<(Opt, HasArg)> {
    if letter == ':' {
        return None;
    }
    let at = SHORT.find(letter)?;
    let rest = &SHORT[at + letter.len_utf8()..];
    let has_arg = if rest.starts_with("::") {
        HasArg::Optional
    } else if rest.starts_with(':') {
        HasArg::Required
    } else {
        HasArg::No
    };
    Some((Opt::Main(letter), has_arg))
}

const fn main(name: &'static str, has_arg: HasArg, letter: char) -> LongOpt<Opt> {
    LongOpt {
        name,
        has_arg,
        val: Opt::Main(letter),
    }
}

/// conntrack's long options (`original_opts`), in its order.
pub const LONG: &[LongOpt<Opt>] = &[
    main("dump", HasArg::Optional, 'L'),
    main("create", HasArg::Optional, 'I'),
    main("add", HasArg::Optional, 'A'),
    main("delete", HasArg::Optional, 'D'),
    main("update", HasArg::Optional, 'U'),
    main("get", HasArg::Optional, 'G'),
    main("flush", HasArg::Optional, 'F'),
    main("event", HasArg::Optional, 'E'),
    main("counter", HasArg::Optional, 'C'),
    main("stats", HasArg::No, 'S'),
    main("version", HasArg::No, 'V'),
    main("help", HasArg::No, 'h'),
    main("orig-src", HasArg::Required, 's'),
    main("src", HasArg::Required, 's'),
    main("orig-dst", HasArg::Required, 'd'),
    main("dst", HasArg::Required, 'd'),
    main("reply-src", HasArg::Required, 'r'),
    main("reply-dst", HasArg::Required, 'q'),
    main("protonum", HasArg::Required, 'p'),
    main("timeout", HasArg::Required, 't'),
    main("status", HasArg::Required, 'u'),
    main("zero", HasArg::No, 'z'),
    main("event-mask", HasArg::Required, 'e'),
    main("tuple-src", HasArg::Required, '['),
    main("tuple-dst", HasArg::Required, ']'),
    main("mask-src", HasArg::Required, '{'),
    main("mask-dst", HasArg::Required, '}'),
    main("nat-range", HasArg::Required, 'a'),
    main("mark", HasArg::Required, 'm'),
    main("secmark", HasArg::Required, 'c'),
    main("id", HasArg::Optional, 'i'),
    main("family", HasArg::Required, 'f'),
    main("src-nat", HasArg::Optional, 'n'),
    main("dst-nat", HasArg::Optional, 'g'),
    main("output", HasArg::Required, 'o'),
    main("buffer-size", HasArg::Required, 'b'),
    main("any-nat", HasArg::Optional, 'j'),
    main("zone", HasArg::Required, 'w'),
    main("label", HasArg::Required, 'l'),
    main("label-add", HasArg::Required, '<'),
    main("label-del", HasArg::Optional, '>'),
    main("orig-zone", HasArg::Required, '('),
    main("reply-zone", HasArg::Required, ')'),
];

/// The long name conntrack's messages give an option of its own (`get_long_opt`).
pub fn long_name(letter: char) -> &'static str {
    LONG.iter()
        .find(|o| o.val == Opt::Main(letter))
        .map_or("unknown", |o| o.name)
}

/// What a protocol's option sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Opt {
    Sport,
    Dport,
    ReplySport,
    ReplyDport,
    MaskSport,
    MaskDport,
    State,
    TupleSport,
    TupleDport,
    OrigVtag,
    ReplyVtag,
    Role,
    IcmpType,
    IcmpCode,
    IcmpId,
}

/// The protocols conntrack has a handler for, and the others (`ct_proto_unknown`: a
/// name from /etc/protocols or a number, without options of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Tcp,
    Udp,
    Udplite,
    Sctp,
    Dccp,
    Icmp,
    Icmpv6,
    Gre,
    Unknown,
}

/// One protocol's option table: long names with their numbers (from 1), the meaning
/// and message name of each number, its matrix (rows by command bit) and the pair of
/// options its tuple needs when a command takes "one of the pairs".
pub struct ProtoTable {
    pub long: &'static [(&'static str, u8)],
    pub opts: &'static [(L4Opt, &'static str)],
    /// Rows for CT_LIST..EXP_EVENT (bits 0 to 14); ADD shares CREATE's; others none.
    pub rows: [&'static str; 15],
    /// The two messages of the pair check: original and reply direction.
    pub pairs: Option<(&'static str, &'static str)>,
    /// The lines `-h -p PROTO` prints after ``Proto `NAME' help:``, as conntrack's
    /// handler prints them (its typo of `--tuple-port-src` twice included); empty for a
    /// protocol without a handler, which says `no options (unsupported)`.
    pub help: &'static [&'static str],
}

/// The help of the protocols whose options are ports (conntrack's `-h -p tcp` and
/// the like), before a line of their own.
const PORT_HELP: &str = "  --orig-port-src\t\toriginal source port
  --orig-port-dst\t\toriginal destination port
  --reply-port-src\t\treply source port
  --reply-port-dst\t\treply destination port
  --mask-port-src\t\tmask source port
  --mask-port-dst\t\tmask destination port
  --tuple-port-src\t\texpectation tuple src port
  --tuple-port-src\t\texpectation tuple dst port
";

const PORT_PAIRS: Option<(&str, &str)> = Some((
    "you have to specify `--sport' and `--dport'",
    "you have to specify `--reply-src-port' and `--reply-dst-port'",
));

const TCP: ProtoTable = ProtoTable {
    long: &[
        ("orig-port-src", 1),
        ("sport", 1),
        ("orig-port-dst", 2),
        ("dport", 2),
        ("reply-port-src", 3),
        ("reply-port-dst", 4),
        ("mask-port-src", 5),
        ("mask-port-dst", 6),
        ("state", 7),
        ("tuple-port-src", 8),
        ("tuple-port-dst", 9),
    ],
    opts: &[
        (L4Opt::Sport, "sport"),
        (L4Opt::Dport, "dport"),
        (L4Opt::ReplySport, "reply-port-src"),
        (L4Opt::ReplyDport, "reply-port-dst"),
        (L4Opt::MaskSport, "mask-port-src"),
        (L4Opt::MaskDport, "mask-port-dst"),
        (L4Opt::State, "state"),
        (L4Opt::TupleSport, "tuple-port-src"),
        (L4Opt::TupleDport, "tuple-port-dst"),
    ],
    rows: [
        "222200200",
        "333300100",
        "222200200",
        "222200200",
        "333300200",
        "000000000",
        "222200200",
        "000000000",
        "000000000",
        "000000000",
        "110011011",
        "111100000",
        "111100000",
        "000000000",
        "000000000",
    ],
    pairs: PORT_PAIRS,
    help: &[PORT_HELP, "  --state\t\t\tTCP state, fe. ESTABLISHED\n"],
};

const UDP_ROWS: [&str; 15] = [
    "22220000", "33330000", "22220000", "22220000", "33330000", "00000000", "22220000", "00000000",
    "00000000", "00000000", "11001111", "11110000", "11110000", "00000000", "00000000",
];

const UDP_OPTS: &[(L4Opt, &str)] = &[
    (L4Opt::Sport, "sport"),
    (L4Opt::Dport, "dport"),
    (L4Opt::ReplySport, "reply-port-src"),
    (L4Opt::ReplyDport, "reply-port-dst"),
    (L4Opt::MaskSport, "mask-port-src"),
    (L4Opt::MaskDport, "mask-port-dst"),
    (L4Opt::TupleSport, "tuple-port-src"),
    (L4Opt::TupleDport, "tuple-port-dst"),
];

const UDP_LONG: &[(&str, u8)] = &[
    ("orig-port-src", 1),
    ("sport", 1),
    ("orig-port-dst", 2),
    ("dport", 2),
    ("reply-port-src", 3),
    ("reply-port-dst", 4),
    ("mask-port-src", 5),
    ("mask-port-dst", 6),
    ("tuple-port-src", 7),
    ("tuple-port-dst", 8),
];

const UDP: ProtoTable = ProtoTable {
    long: UDP_LONG,
    opts: UDP_OPTS,
    rows: UDP_ROWS,
    pairs: PORT_PAIRS,
    help: &[PORT_HELP],
};

// udplite lists its aliases last; glibc's lookup does not depend on the order.
const UDPLITE: ProtoTable = ProtoTable {
    long: UDP_LONG,
    opts: UDP_OPTS,
    rows: UDP_ROWS,
    pairs: PORT_PAIRS,
    help: &[PORT_HELP],
};

const SCTP: ProtoTable = ProtoTable {
    long: &[
        ("orig-port-src", 1),
        ("orig-port-dst", 2),
        ("reply-port-src", 3),
        ("reply-port-dst", 4),
        ("mask-port-src", 5),
        ("mask-port-dst", 6),
        ("state", 7),
        ("tuple-port-src", 8),
        ("tuple-port-dst", 9),
        ("orig-vtag", 10),
        ("reply-vtag", 11),
        ("sport", 1),
        ("dport", 2),
    ],
    opts: &[
        (L4Opt::Sport, "sport"),
        (L4Opt::Dport, "dport"),
        (L4Opt::ReplySport, "reply-port-src"),
        (L4Opt::ReplyDport, "reply-port-dst"),
        (L4Opt::MaskSport, "mask-port-src"),
        (L4Opt::MaskDport, "mask-port-dst"),
        (L4Opt::State, "state"),
        (L4Opt::TupleSport, "tuple-port-src"),
        (L4Opt::TupleDport, "tuple-port-dst"),
        (L4Opt::OrigVtag, "orig-vtag"),
        (L4Opt::ReplyVtag, "reply-vtag"),
    ],
    rows: [
        "22220020000",
        "33330010011",
        "22220020022",
        "22220020000",
        "33330020022",
        "00000000000",
        "22220020000",
        "00000000000",
        "00000000000",
        "00000000000",
        "11001101111",
        "11110000000",
        "11110000000",
        "00000000000",
        "00000000000",
    ],
    pairs: PORT_PAIRS,
    help: &[
        PORT_HELP,
        "  --state\t\t\tSCTP state, fe. ESTABLISHED\n",
        "  --orig-vtag\t\toriginal verification tag\n",
        "  --reply-vtag\t\treply verification tag\n",
    ],
};

const DCCP: ProtoTable = ProtoTable {
    long: &[
        ("orig-port-src", 1),
        ("orig-port-dst", 2),
        ("reply-port-src", 3),
        ("reply-port-dst", 4),
        ("mask-port-src", 5),
        ("mask-port-dst", 6),
        ("state", 7),
        ("tuple-port-src", 8),
        ("tuple-port-dst", 9),
        ("sport", 1),
        ("dport", 2),
        ("role", 10),
    ],
    opts: &[
        (L4Opt::Sport, "sport"),
        (L4Opt::Dport, "dport"),
        (L4Opt::ReplySport, "reply-port-src"),
        (L4Opt::ReplyDport, "reply-port-dst"),
        (L4Opt::MaskSport, "mask-port-src"),
        (L4Opt::MaskDport, "mask-port-dst"),
        (L4Opt::State, "state"),
        (L4Opt::TupleSport, "tuple-port-src"),
        (L4Opt::TupleDport, "tuple-port-dst"),
        (L4Opt::Role, "role"),
    ],
    rows: [
        "2222002000",
        "3333001001",
        "2222002000",
        "2222002000",
        "3333002000",
        "0000000000",
        "2222002000",
        "0000000000",
        "0000000000",
        "0000000000",
        "1100110111",
        "1111000000",
        "1111000000",
        "0000000000",
        "0000000000",
    ],
    pairs: PORT_PAIRS,
    help: &[PORT_HELP, "  --state\t\t\tDCCP state, fe. RESPOND\n"],
};

const ICMP_ROWS: [&str; 15] = [
    "222", "112", "222", "222", "112", "000", "222", "000", "000", "000", "000", "000", "000",
    "000", "000",
];

const ICMP: ProtoTable = ProtoTable {
    long: &[("icmp-type", 1), ("icmp-code", 2), ("icmp-id", 3)],
    opts: &[
        (L4Opt::IcmpType, "icmp-type"),
        (L4Opt::IcmpCode, "icmp-code"),
        (L4Opt::IcmpId, "icmp-id"),
    ],
    rows: ICMP_ROWS,
    pairs: None,
    help: &[
        "  --icmp-type\t\t\ticmp type\n  --icmp-code\t\t\ticmp code\n  --icmp-id\t\t\ticmp id\n",
    ],
};

const ICMPV6: ProtoTable = ProtoTable {
    long: &[("icmpv6-type", 1), ("icmpv6-code", 2), ("icmpv6-id", 3)],
    opts: &[
        (L4Opt::IcmpType, "icmpv6-type"),
        (L4Opt::IcmpCode, "icmpv6-code"),
        (L4Opt::IcmpId, "icmpv6-id"),
    ],
    rows: ICMP_ROWS,
    pairs: None,
    help: &[
        "  --icmpv6-type\t\t\ticmpv6 type\n  --icmpv6-code\t\t\ticmpv6 code\n  --icmpv6-id\t\t\ticmpv6 id\n",
    ],
};

// GRE's keys travel in the tuple's port fields: the same slots as the ports.
const GRE: ProtoTable = ProtoTable {
    long: &[
        ("orig-key-src", 1),
        ("srckey", 1),
        ("orig-key-dst", 2),
        ("dstkey", 2),
        ("reply-key-src", 3),
        ("reply-key-dst", 4),
        ("mask-key-src", 5),
        ("mask-key-dst", 6),
        ("tuple-key-src", 7),
        ("tuple-key-dst", 8),
    ],
    opts: &[
        (L4Opt::Sport, "srckey"),
        (L4Opt::Dport, "dstkey"),
        (L4Opt::ReplySport, "reply-key-src"),
        (L4Opt::ReplyDport, "reply-key-dst"),
        (L4Opt::MaskSport, "mask-key-src"),
        (L4Opt::MaskDport, "mask-key-dst"),
        (L4Opt::TupleSport, "tuple-key-src"),
        (L4Opt::TupleDport, "tuple-key-dst"),
    ],
    rows: [
        "22220000", "33330000", "22220000", "22220000", "33330000", "00000000", "22220000",
        "00000000", "00000000", "00000000", "11111111", "11110000", "11110000", "00000000",
        "00000000",
    ],
    pairs: Some((
        "you have to specify `--srckey' and `--dstkey'",
        "you have to specify `--reply-src-key' and `--reply-dst-key'",
    )),
    help: &["  --orig-key-src\t\toriginal source key
  --orig-key-dst\t\toriginal destination key
  --reply-key-src\t\treply source key
  --reply-key-dst\t\treply destination key
  --mask-key-src\t\tmask source key
  --mask-key-dst\t\tmask destination key
  --tuple-key-src\t\texpectation tuple src key
  --tuple-key-src\t\texpectation tuple dst key
"],
};

const UNKNOWN: ProtoTable = ProtoTable {
    long: &[],
    opts: &[],
    rows: [""; 15],
    pairs: None,
    help: &[],
};

impl Handler {
    pub fn table(self) -> &'static ProtoTable {
        match self {
            Handler::Tcp => &TCP,
            Handler::Udp => &UDP,
            Handler::Udplite => &UDPLITE,
            Handler::Sctp => &SCTP,
            Handler::Dccp => &DCCP,
            Handler::Icmp => &ICMP,
            Handler::Icmpv6 => &ICMPV6,
            Handler::Gre => &GRE,
            Handler::Unknown => &UNKNOWN,
        }
    }

    /// The handler conntrack has for a protocol number.
    pub fn of(protonum: u8) -> Handler {
        [
            Handler::Tcp,
            Handler::Udp,
            Handler::Udplite,
            Handler::Sctp,
            Handler::Dccp,
            Handler::Icmp,
            Handler::Icmpv6,
            Handler::Gre,
        ]
        .into_iter()
        .find(|handler| handler.number() == Some(protonum))
        .unwrap_or(Handler::Unknown)
    }

    /// The protocol number of a handler that has one.
    fn number(self) -> Option<u8> {
        Some(match self {
            Handler::Tcp => IPPROTO_TCP,
            Handler::Udp => IPPROTO_UDP,
            Handler::Udplite => IPPROTO_UDPLITE,
            Handler::Sctp => IPPROTO_SCTP,
            Handler::Dccp => IPPROTO_DCCP,
            Handler::Icmp => IPPROTO_ICMP,
            Handler::Icmpv6 => IPPROTO_ICMPV6,
            Handler::Gre => IPPROTO_GRE,
            Handler::Unknown => return None,
        })
    }

    /// The handler's name, as `-p` takes it (any case): the protocol's name in
    /// model::entry::PROTOCOLS.
    pub fn name(self) -> Option<&'static str> {
        self.number().and_then(crate::model::entry::proto_name)
    }
}

impl ProtoTable {
    /// The protocol's long options, as merged after conntrack's own.
    pub fn long_opts(&self) -> Vec<LongOpt<Opt>> {
        self.long
            .iter()
            .map(|&(name, n)| LongOpt {
                name,
                has_arg: HasArg::Required,
                val: Opt::Proto(n),
            })
            .collect()
    }

    /// The matrix row of a command for this protocol's options.
    pub fn row(&self, command: Option<Command>) -> Vec<u8> {
        let bit = match command {
            Some(Command::Add) => Command::Create.bit(),
            Some(command) if command.bit() < 15 => command.bit(),
            _ => return vec![0; self.opts.len()],
        };
        let row = self.rows[bit];
        if row.is_empty() {
            return vec![0; self.opts.len()];
        }
        row.bytes().map(|b| b - b'0').collect()
    }
}
