//! Every kernel number `ct` uses, under the name the kernel gives it.
//!
//! The values come from the kernel's uapi headers: `linux/netlink.h`,
//! `linux/netfilter/nfnetlink.h`, `linux/netfilter/nfnetlink_conntrack.h`,
//! `linux/netfilter/nf_conntrack_common.h`, `linux/netfilter/nf_conntrack_tcp.h`,
//! `nf_conntrack_sctp.h` and `nf_conntrack_dccp.h`. No other module writes a bare kernel
//! number; if you need one, add it here under its kernel name.
#![allow(missing_docs)]

// linux/netlink.h: message types and flags of the netlink header.
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
pub const NLMSG_HDRLEN: usize = 16;
/// Netlink messages and attributes start on 4-byte boundaries (NLMSG_ALIGNTO, NLA_ALIGNTO).
pub const NLMSG_ALIGNTO: usize = 4;
/// The size of an attribute's header (length and type), before its value.
pub const NLA_HDRLEN: usize = 4;

/// NLMSG_ALIGN: `len` rounded up to the next message boundary.
pub const fn nlmsg_align(len: usize) -> usize {
    (len + NLMSG_ALIGNTO - 1) & !(NLMSG_ALIGNTO - 1)
}

/// NLA_ALIGN: `len` rounded up to the next attribute boundary (the same 4 bytes).
pub const fn nla_align(len: usize) -> usize {
    nlmsg_align(len)
}

/// The bits of an attribute's type that are the type, without NLA_F_NESTED and
/// NLA_F_NET_BYTEORDER.
pub const NLA_TYPE_MASK: u16 = 0x3fff;

pub const NLM_F_REQUEST: u16 = 0x01;
pub const NLM_F_MULTI: u16 = 0x02;
pub const NLM_F_ACK: u16 = 0x04;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
/// NLM_F_EXCL and NLM_F_CREATE: flags of a request that creates (IPCTNL_MSG_CT_NEW).
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;

// linux/netfilter/nfnetlink.h
pub const NFNETLINK_V0: u8 = 0;
/// The nfgenmsg version that makes a ctnetlink flush honour the family (Linux 5.1:
/// with NFNETLINK_V0 a flush empties every family).
pub const NFNETLINK_V1: u8 = 1;
pub const NFNL_SUBSYS_CTNETLINK: u8 = 1;
pub const NFNL_SUBSYS_CTNETLINK_EXP: u8 = 2;

/// NFNL_SUBSYS_ID and NFNL_MSG_TYPE: a netfilter message type is the subsystem in the
/// high byte and the subsystem's message in the low byte.
pub const fn nfnl_subsys_id(message_type: u16) -> u8 {
    (message_type >> 8) as u8
}

pub const fn nfnl_msg_type(message_type: u16) -> u8 {
    (message_type & 0xff) as u8
}

/// The netlink message type of `message` of `subsystem` (the kernel's nfnl_msg_type()).
pub const fn nfnl_type(subsystem: u8, message: u8) -> u16 {
    (subsystem as u16) << 8 | message as u16
}
/// The netfilter header (`struct nfgenmsg`) that precedes the attributes.
pub const NFGENMSG_LEN: usize = 4;

// linux/netfilter/nfnetlink_conntrack.h: enum cntl_msg_types
pub const IPCTNL_MSG_CT_NEW: u8 = 0;
pub const IPCTNL_MSG_CT_GET: u8 = 1;
pub const IPCTNL_MSG_CT_DELETE: u8 = 2;
pub const IPCTNL_MSG_CT_GET_CTRZERO: u8 = 3;
pub const IPCTNL_MSG_CT_GET_STATS_CPU: u8 = 4;
pub const IPCTNL_MSG_CT_GET_STATS: u8 = 5;
pub const IPCTNL_MSG_CT_GET_DYING: u8 = 6;
pub const IPCTNL_MSG_CT_GET_UNCONFIRMED: u8 = 7;

// enum cntl_msg_exp_types: messages of NFNL_SUBSYS_CTNETLINK_EXP.
pub const IPCTNL_MSG_EXP_NEW: u8 = 0;
pub const IPCTNL_MSG_EXP_GET: u8 = 1;
pub const IPCTNL_MSG_EXP_DELETE: u8 = 2;
pub const IPCTNL_MSG_EXP_GET_STATS_CPU: u8 = 3;

// Address families (linux/socket.h); conntrack keeps the layer-3 protocol as one.
pub const AF_UNSPEC: u8 = 0;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

// Layer-4 protocol numbers (linux/in.h, linux/in6.h).
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_DCCP: u8 = 33;
pub const IPPROTO_GRE: u8 = 47;
pub const IPPROTO_ICMPV6: u8 = 58;
pub const IPPROTO_SCTP: u8 = 132;
pub const IPPROTO_UDPLITE: u8 = 136;

// enum ctattr_type: the top-level attributes of one conntrack entry.
pub const CTA_TUPLE_ORIG: u16 = 1;
pub const CTA_TUPLE_REPLY: u16 = 2;
pub const CTA_STATUS: u16 = 3;
pub const CTA_PROTOINFO: u16 = 4;
pub const CTA_HELP: u16 = 5;
pub const CTA_NAT_SRC: u16 = 6;
pub const CTA_TIMEOUT: u16 = 7;
pub const CTA_MARK: u16 = 8;
pub const CTA_COUNTERS_ORIG: u16 = 9;
pub const CTA_COUNTERS_REPLY: u16 = 10;
pub const CTA_USE: u16 = 11;
pub const CTA_ID: u16 = 12;
pub const CTA_NAT_DST: u16 = 13;
pub const CTA_TUPLE_MASTER: u16 = 14;
pub const CTA_SEQ_ADJ_ORIG: u16 = 15;
pub const CTA_SEQ_ADJ_REPLY: u16 = 16;
pub const CTA_SECMARK: u16 = 17;
pub const CTA_ZONE: u16 = 18;
pub const CTA_SECCTX: u16 = 19;
pub const CTA_TIMESTAMP: u16 = 20;
pub const CTA_MARK_MASK: u16 = 21;
pub const CTA_LABELS: u16 = 22;
pub const CTA_LABELS_MASK: u16 = 23;
pub const CTA_SYNPROXY: u16 = 24;
pub const CTA_FILTER: u16 = 25;
pub const CTA_STATUS_MASK: u16 = 26;
/// When the kernel queued an event (be64 nanoseconds since the epoch); sent in events
/// since Linux 5.18 when net.netfilter.nf_conntrack_timestamp is on.
pub const CTA_TIMESTAMP_EVENT: u16 = 27;

// enum ctattr_tuple
pub const CTA_TUPLE_IP: u16 = 1;
pub const CTA_TUPLE_PROTO: u16 = 2;
pub const CTA_TUPLE_ZONE: u16 = 3;

// enum ctattr_ip
pub const CTA_IP_V4_SRC: u16 = 1;
pub const CTA_IP_V4_DST: u16 = 2;
pub const CTA_IP_V6_SRC: u16 = 3;
pub const CTA_IP_V6_DST: u16 = 4;

// enum ctattr_l4proto
pub const CTA_PROTO_NUM: u16 = 1;
pub const CTA_PROTO_SRC_PORT: u16 = 2;
pub const CTA_PROTO_DST_PORT: u16 = 3;
pub const CTA_PROTO_ICMP_ID: u16 = 4;
pub const CTA_PROTO_ICMP_TYPE: u16 = 5;
pub const CTA_PROTO_ICMP_CODE: u16 = 6;
pub const CTA_PROTO_ICMPV6_ID: u16 = 7;
pub const CTA_PROTO_ICMPV6_TYPE: u16 = 8;
pub const CTA_PROTO_ICMPV6_CODE: u16 = 9;

// enum ctattr_nat: inside CTA_NAT_SRC and CTA_NAT_DST, the range NAT maps to.
pub const CTA_NAT_V4_MINIP: u16 = 1;
pub const CTA_NAT_V4_MAXIP: u16 = 2;
pub const CTA_NAT_PROTO: u16 = 3;
pub const CTA_NAT_V6_MINIP: u16 = 4;
pub const CTA_NAT_V6_MAXIP: u16 = 5;

// enum ctattr_protonat: inside CTA_NAT_PROTO, the port range (be16).
pub const CTA_PROTONAT_PORT_MIN: u16 = 1;
pub const CTA_PROTONAT_PORT_MAX: u16 = 2;

// enum ctattr_protoinfo
pub const CTA_PROTOINFO_TCP: u16 = 1;
pub const CTA_PROTOINFO_DCCP: u16 = 2;
pub const CTA_PROTOINFO_SCTP: u16 = 3;

// enum ctattr_protoinfo_tcp / _dccp / _sctp: the state is attribute 1 in all three.
pub const CTA_PROTOINFO_TCP_STATE: u16 = 1;
pub const CTA_PROTOINFO_DCCP_STATE: u16 = 1;
pub const CTA_PROTOINFO_SCTP_STATE: u16 = 1;

// enum ctattr_counters: the kernel sends the 64-bit forms; old kernels sent 32-bit ones.
pub const CTA_COUNTERS_PACKETS: u16 = 1;
pub const CTA_COUNTERS_BYTES: u16 = 2;
pub const CTA_COUNTERS32_PACKETS: u16 = 3;
pub const CTA_COUNTERS32_BYTES: u16 = 4;

// enum ctattr_tstamp: nanoseconds since the epoch, big-endian u64.
pub const CTA_TIMESTAMP_START: u16 = 1;
pub const CTA_TIMESTAMP_STOP: u16 = 2;

// enum ctattr_help / ctattr_secctx
pub const CTA_HELP_NAME: u16 = 1;

/// The longest helper name, its NUL included (NF_CT_HELPER_NAME_LEN).
pub const NF_CT_HELPER_NAME_LEN: usize = 16;
pub const CTA_SECCTX_NAME: u16 = 1;

// enum ip_conntrack_status: bit numbers of CTA_STATUS (IPS_*_BIT).
pub const IPS_EXPECTED_BIT: u32 = 0;
pub const IPS_SEEN_REPLY_BIT: u32 = 1;
pub const IPS_ASSURED_BIT: u32 = 2;
pub const IPS_CONFIRMED_BIT: u32 = 3;
pub const IPS_SRC_NAT_BIT: u32 = 4;
pub const IPS_DST_NAT_BIT: u32 = 5;
pub const IPS_SEQ_ADJUST_BIT: u32 = 6;
pub const IPS_SRC_NAT_DONE_BIT: u32 = 7;
pub const IPS_DST_NAT_DONE_BIT: u32 = 8;
pub const IPS_DYING_BIT: u32 = 9;
pub const IPS_FIXED_TIMEOUT_BIT: u32 = 10;
pub const IPS_TEMPLATE_BIT: u32 = 11;
/// Bit 12 was IPS_UNTRACKED until 4.11 and is IPS_NAT_CLASH since 5.7.
pub const IPS_NAT_CLASH_BIT: u32 = 12;
pub const IPS_HELPER_BIT: u32 = 13;
pub const IPS_OFFLOAD_BIT: u32 = 14;
pub const IPS_HW_OFFLOAD_BIT: u32 = 15;

/// The IPS_* flags by bit number, named without the prefix, as `conntrack` spells them.
pub const IPS_NAMES: [(u32, &str); 16] = [
    (IPS_EXPECTED_BIT, "EXPECTED"),
    (IPS_SEEN_REPLY_BIT, "SEEN_REPLY"),
    (IPS_ASSURED_BIT, "ASSURED"),
    (IPS_CONFIRMED_BIT, "CONFIRMED"),
    (IPS_SRC_NAT_BIT, "SRC_NAT"),
    (IPS_DST_NAT_BIT, "DST_NAT"),
    (IPS_SEQ_ADJUST_BIT, "SEQ_ADJUST"),
    (IPS_SRC_NAT_DONE_BIT, "SRC_NAT_DONE"),
    (IPS_DST_NAT_DONE_BIT, "DST_NAT_DONE"),
    (IPS_DYING_BIT, "DYING"),
    (IPS_FIXED_TIMEOUT_BIT, "FIXED_TIMEOUT"),
    (IPS_TEMPLATE_BIT, "TEMPLATE"),
    (IPS_NAT_CLASH_BIT, "NAT_CLASH"),
    (IPS_HELPER_BIT, "HELPER"),
    (IPS_OFFLOAD_BIT, "OFFLOAD"),
    (IPS_HW_OFFLOAD_BIT, "HW_OFFLOAD"),
];

/// enum tcp_conntrack's TIME_WAIT: from it on conntrack -I sets IP_CT_TCP_FLAG_CLOSE_INIT.
pub const TCP_CONNTRACK_TIME_WAIT: u8 = 7;
/// enum tcp_conntrack's SYN_SENT2, which conntrack's `--state LISTEN` sends.
pub const TCP_CONNTRACK_SYN_SENT2: u8 = 9;

/// enum tcp_conntrack, indexed by state number. Bit 9 is TCP_CONNTRACK_SYN_SENT2
/// (it was TCP_CONNTRACK_LISTEN before 2.6.31); libnetfilter_conntrack prints it so.
pub const TCP_CONNTRACK_NAMES: [&str; 10] = [
    "NONE",
    "SYN_SENT",
    "SYN_RECV",
    "ESTABLISHED",
    "FIN_WAIT",
    "CLOSE_WAIT",
    "LAST_ACK",
    "TIME_WAIT",
    "CLOSE",
    "SYN_SENT2",
];

/// enum sctp_conntrack, indexed by state number. HEARTBEAT_ACKED left the kernel in 6.4,
/// but conntrack-tools still names state 9 so.
pub const SCTP_CONNTRACK_NAMES: [&str; 10] = [
    "NONE",
    "CLOSED",
    "COOKIE_WAIT",
    "COOKIE_ECHOED",
    "ESTABLISHED",
    "SHUTDOWN_SENT",
    "SHUTDOWN_RECD",
    "SHUTDOWN_ACK_SENT",
    "HEARTBEAT_SENT",
    "HEARTBEAT_ACKED",
];

/// enum ct_dccp_state, indexed by state number.
pub const DCCP_CONNTRACK_NAMES: [&str; 10] = [
    "NONE", "REQUEST", "RESPOND", "PARTOPEN", "OPEN", "CLOSEREQ", "CLOSING", "TIMEWAIT", "IGNORE",
    "INVALID",
];

/// NLA_F_NESTED (linux/netlink.h): the attribute holds attributes.
pub const NLA_F_NESTED: u16 = 0x8000;

// enum ctattr_filter (linux/netfilter/nfnetlink_conntrack.h): the flag words of CTA_FILTER,
// u32 in host byte order.
pub const CTA_FILTER_ORIG_FLAGS: u16 = 1;
pub const CTA_FILTER_REPLY_FLAGS: u16 = 2;

// CTA_FILTER_F_* (net/netfilter/nf_internals.h; libnetfilter_conntrack names them
// CTA_FILTER_FLAG_*): which tuple fields the kernel compares.
pub const CTA_FILTER_FLAG_CTA_IP_SRC: u32 = 1 << 0;
pub const CTA_FILTER_FLAG_CTA_IP_DST: u32 = 1 << 1;
pub const CTA_FILTER_FLAG_CTA_TUPLE_ZONE: u32 = 1 << 2;
pub const CTA_FILTER_FLAG_CTA_PROTO_NUM: u32 = 1 << 3;
pub const CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT: u32 = 1 << 4;
pub const CTA_FILTER_FLAG_CTA_PROTO_DST_PORT: u32 = 1 << 5;
pub const CTA_FILTER_FLAG_CTA_PROTO_ICMP_TYPE: u32 = 1 << 6;
pub const CTA_FILTER_FLAG_CTA_PROTO_ICMP_CODE: u32 = 1 << 7;
pub const CTA_FILTER_FLAG_CTA_PROTO_ICMP_ID: u32 = 1 << 8;
pub const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_TYPE: u32 = 1 << 9;
pub const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_CODE: u32 = 1 << 10;
pub const CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_ID: u32 = 1 << 11;

// enum nfnetlink_groups: the multicast groups of events. A NEW event is
// IPCTNL_MSG_CT_NEW with NLM_F_CREATE (and NLM_F_EXCL), an UPDATE is IPCTNL_MSG_CT_NEW
// without, a DESTROY is IPCTNL_MSG_CT_DELETE; the same for expectations.
pub const NFNLGRP_CONNTRACK_NEW: u32 = 1;
pub const NFNLGRP_CONNTRACK_UPDATE: u32 = 2;
pub const NFNLGRP_CONNTRACK_DESTROY: u32 = 3;
pub const NFNLGRP_CONNTRACK_EXP_NEW: u32 = 4;
pub const NFNLGRP_CONNTRACK_EXP_UPDATE: u32 = 5;
pub const NFNLGRP_CONNTRACK_EXP_DESTROY: u32 = 6;

// Socket options of netlink sockets (linux/netlink.h), level SOL_NETLINK (270).
pub const SOL_NETLINK: i32 = 270;
/// Report a failed delivery of a multicast message to the sender: ctnetlink then keeps
/// a DESTROY event and delivers it again ("reliable" event delivery, as conntrackd's).
pub const NETLINK_BROADCAST_ERROR: i32 = 4;

// enum ctattr_stats_cpu: the per-CPU counters of IPCTNL_MSG_CT_GET_STATS_CPU, big-endian
// u32 each. SEARCHED, NEW, IGNORE and DELETE(_LIST) are no longer sent by current kernels.
pub const CTA_STATS_SEARCHED: u16 = 1;
pub const CTA_STATS_FOUND: u16 = 2;
pub const CTA_STATS_NEW: u16 = 3;
pub const CTA_STATS_INVALID: u16 = 4;
pub const CTA_STATS_IGNORE: u16 = 5;
pub const CTA_STATS_DELETE: u16 = 6;
pub const CTA_STATS_DELETE_LIST: u16 = 7;
pub const CTA_STATS_INSERT: u16 = 8;
pub const CTA_STATS_INSERT_FAILED: u16 = 9;
pub const CTA_STATS_DROP: u16 = 10;
pub const CTA_STATS_EARLY_DROP: u16 = 11;
pub const CTA_STATS_ERROR: u16 = 12;
pub const CTA_STATS_SEARCH_RESTART: u16 = 13;
pub const CTA_STATS_CLASH_RESOLVE: u16 = 14;
pub const CTA_STATS_CHAIN_TOOLONG: u16 = 15;

/// The CTA_STATS_* counters by attribute number, named as conntrack -S prints them.
pub const CTA_STATS_NAMES: [(u16, &str); 15] = [
    (CTA_STATS_SEARCHED, "searched"),
    (CTA_STATS_FOUND, "found"),
    (CTA_STATS_NEW, "new"),
    (CTA_STATS_INVALID, "invalid"),
    (CTA_STATS_IGNORE, "ignore"),
    (CTA_STATS_DELETE, "delete"),
    (CTA_STATS_DELETE_LIST, "delete_list"),
    (CTA_STATS_INSERT, "insert"),
    (CTA_STATS_INSERT_FAILED, "insert_failed"),
    (CTA_STATS_DROP, "drop"),
    (CTA_STATS_EARLY_DROP, "early_drop"),
    (CTA_STATS_ERROR, "error"),
    (CTA_STATS_SEARCH_RESTART, "search_restart"),
    (CTA_STATS_CLASH_RESOLVE, "clash_resolve"),
    (CTA_STATS_CHAIN_TOOLONG, "chaintoolong"),
];

// enum ctattr_stats_global: the answer to IPCTNL_MSG_CT_GET_STATS. MAX_ENTRIES since 4.19.
pub const CTA_STATS_GLOBAL_ENTRIES: u16 = 1;
pub const CTA_STATS_GLOBAL_MAX_ENTRIES: u16 = 2;

// enum ctattr_expect_stats: the per-CPU counters of IPCTNL_MSG_EXP_GET_STATS_CPU.
pub const CTA_STATS_EXP_NEW: u16 = 1;
pub const CTA_STATS_EXP_CREATE: u16 = 2;
pub const CTA_STATS_EXP_DELETE: u16 = 3;

/// The CTA_STATS_EXP_* counters, named as conntrack -S expect prints them.
pub const CTA_STATS_EXP_NAMES: [(u16, &str); 3] = [
    (CTA_STATS_EXP_NEW, "expect_new"),
    (CTA_STATS_EXP_CREATE, "expect_create"),
    (CTA_STATS_EXP_DELETE, "expect_delete"),
];

// enum ctattr_expect: the attributes of one expectation (NFNL_SUBSYS_CTNETLINK_EXP).
pub const CTA_EXPECT_MASTER: u16 = 1;
pub const CTA_EXPECT_TUPLE: u16 = 2;
pub const CTA_EXPECT_MASK: u16 = 3;
pub const CTA_EXPECT_TIMEOUT: u16 = 4;
pub const CTA_EXPECT_ID: u16 = 5;
pub const CTA_EXPECT_HELP_NAME: u16 = 6;
/// Only ever sent to the kernel: 6.18 puts no zone in dumps or events.
pub const CTA_EXPECT_ZONE: u16 = 7;
pub const CTA_EXPECT_FLAGS: u16 = 8;
pub const CTA_EXPECT_CLASS: u16 = 9;
pub const CTA_EXPECT_NAT: u16 = 10;
pub const CTA_EXPECT_FN: u16 = 11;

// enum ctattr_expect_nat
pub const CTA_EXPECT_NAT_DIR: u16 = 1;
pub const CTA_EXPECT_NAT_TUPLE: u16 = 2;

// NF_CT_EXPECT_* (linux/netfilter/nf_conntrack_common.h): the bits of CTA_EXPECT_FLAGS.
pub const NF_CT_EXPECT_PERMANENT: u32 = 0x1;
pub const NF_CT_EXPECT_INACTIVE: u32 = 0x2;
pub const NF_CT_EXPECT_USERSPACE: u32 = 0x4;

/// The NF_CT_EXPECT_* flags, named as conntrack prints them, in its order.
pub const NF_CT_EXPECT_NAMES: [(u32, &str); 3] = [
    (NF_CT_EXPECT_PERMANENT, "PERMANENT"),
    (NF_CT_EXPECT_INACTIVE, "INACTIVE"),
    (NF_CT_EXPECT_USERSPACE, "USERSPACE"),
];

/// enum ip_conntrack_dir: the direction of an expectation's NAT (CTA_EXPECT_NAT_DIR).
pub const IP_CT_DIR_ORIGINAL: u32 = 0;
pub const IP_CT_DIR_REPLY: u32 = 1;

// enum ctattr_protoinfo_tcp, after the state: what the tracker keeps of each direction's
// sender (`ip_ct_tcp_state.td_scale` and `.flags`). Left out of destroy events.
pub const CTA_PROTOINFO_TCP_WSCALE_ORIGINAL: u16 = 2;
pub const CTA_PROTOINFO_TCP_WSCALE_REPLY: u16 = 3;
/// struct nf_ct_tcp_flags { __u8 flags; __u8 mask; }: dumps fill in `flags` and leave
/// `mask` zero (the mask says which flags a request changes).
pub const CTA_PROTOINFO_TCP_FLAGS_ORIGINAL: u16 = 4;
pub const CTA_PROTOINFO_TCP_FLAGS_REPLY: u16 = 5;

// enum ctattr_protoinfo_dccp, after the state.
/// u8: the role (enum ct_dccp_roles) of the original direction's sender.
pub const CTA_PROTOINFO_DCCP_ROLE: u16 = 2;
/// be64, preceded by CTA_PROTOINFO_DCCP_PAD where the kernel aligns it.
pub const CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ: u16 = 3;
pub const CTA_PROTOINFO_DCCP_PAD: u16 = 4;

// enum ctattr_protoinfo_sctp, after the state: each direction's verification tag, be32.
pub const CTA_PROTOINFO_SCTP_VTAG_ORIGINAL: u16 = 2;
pub const CTA_PROTOINFO_SCTP_VTAG_REPLY: u16 = 3;

// IP_CT_TCP_FLAG_* (linux/netfilter/nf_conntrack_tcp.h): the bits of nf_ct_tcp_flags.flags.
pub const IP_CT_TCP_FLAG_WINDOW_SCALE: u8 = 0x01;
pub const IP_CT_TCP_FLAG_SACK_PERM: u8 = 0x02;
pub const IP_CT_TCP_FLAG_CLOSE_INIT: u8 = 0x04;
pub const IP_CT_TCP_FLAG_BE_LIBERAL: u8 = 0x08;
pub const IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED: u8 = 0x10;
pub const IP_CT_TCP_FLAG_MAXACK_SET: u8 = 0x20;
/// The kernel names 0x40 and 0x80 without the _FLAG_ of the others.
pub const IP_CT_EXP_CHALLENGE_ACK: u8 = 0x40;
pub const IP_CT_TCP_SIMULTANEOUS_OPEN: u8 = 0x80;

/// The IP_CT_TCP_FLAG_* bits, named without their prefix, lowest first.
pub const IP_CT_TCP_FLAG_NAMES: [(u8, &str); 8] = [
    (IP_CT_TCP_FLAG_WINDOW_SCALE, "WINDOW_SCALE"),
    (IP_CT_TCP_FLAG_SACK_PERM, "SACK_PERM"),
    (IP_CT_TCP_FLAG_CLOSE_INIT, "CLOSE_INIT"),
    (IP_CT_TCP_FLAG_BE_LIBERAL, "BE_LIBERAL"),
    (IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED, "DATA_UNACKNOWLEDGED"),
    (IP_CT_TCP_FLAG_MAXACK_SET, "MAXACK_SET"),
    (IP_CT_EXP_CHALLENGE_ACK, "CHALLENGE_ACK"),
    (IP_CT_TCP_SIMULTANEOUS_OPEN, "SIMULTANEOUS_OPEN"),
];

/// enum ct_dccp_roles (linux/netfilter/nf_conntrack_dccp.h): CTA_PROTOINFO_DCCP_ROLE.
pub const CT_DCCP_ROLE_CLIENT: u8 = 0;
pub const CT_DCCP_ROLE_SERVER: u8 = 1;

/// NF_CT_LABELS_MAX_SIZE (include/net/netfilter/nf_conntrack_labels.h): the bytes of an
/// entry's connlabel bitmap, (XT_CONNLABEL_MAXBIT + 1) / BITS_PER_BYTE, so 128 label bits.
pub const NF_CT_LABELS_MAX_SIZE: usize = 16;

// enum ctattr_seqadj: inside CTA_SEQ_ADJ_ORIG / CTA_SEQ_ADJ_REPLY (struct nf_ct_seqadj),
// be32 each; the offsets are s32 in the kernel. Sent only with IPS_SEQ_ADJUST.
pub const CTA_SEQADJ_CORRECTION_POS: u16 = 1;
pub const CTA_SEQADJ_OFFSET_BEFORE: u16 = 2;
pub const CTA_SEQADJ_OFFSET_AFTER: u16 = 3;

// enum ctattr_synproxy: inside CTA_SYNPROXY (struct nf_conn_synproxy), be32 each.
pub const CTA_SYNPROXY_ISN: u16 = 1;
pub const CTA_SYNPROXY_ITS: u16 = 2;
pub const CTA_SYNPROXY_TSOFF: u16 = 3;
