//! Entry shapes: `conntrack -I` arguments for groups of entries that more than one test
//! file inserts. Each group keeps to its own addresses, so that any groups fit one table:
//! `net` picks the test file's block (`10.<net>.G.x` and `fd00:<net>::G:x`, with G fixed
//! per group: 10 tcp, 12 icmp, 14 gre and unknown protocols, 17 zones, 24 GRE keys).

use super::{SCTP_STATES, TCP_STATES};

/// One TCP entry per state `conntrack -I` accepts, from `10.<net>.10.1`; the statuses
/// cycle through none, SEEN_REPLY and SEEN_REPLY,ASSURED, so every state is seen both
/// replied and not.
pub fn tcp_states(net: u8) -> Vec<String> {
    TCP_STATES
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let status = ["", " -u SEEN_REPLY", " -u SEEN_REPLY,ASSURED"][i % 3];
            format!(
                "-p tcp -s 10.{net}.10.1 -d 10.{net}.10.2 --sport {} --dport 80 --state {st} -t {}{status}",
                40000 + i,
                300 + i
            )
        })
        .collect()
}

/// One SCTP entry `src` → `dst` per state `conntrack -I` can make (`SCTP_STATES`): the
/// port, the vtags (the reply's from `reply_vtag`) and the timeout count up with the
/// state, and every other entry is seen replied and assured.
pub fn sctp_states(src: &str, dst: &str, reply_vtag: u32) -> Vec<String> {
    SCTP_STATES
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let status = if i % 2 == 1 {
                " -u SEEN_REPLY,ASSURED"
            } else {
                ""
            };
            format!(
                "-p sctp -s {src} -d {dst} --sport {} --dport 3868 --state {st} --orig-vtag {} --reply-vtag {} -t {}{status}",
                2000 + i,
                0x1000 + i,
                reply_vtag.wrapping_add(i as u32),
                200 + i
            )
        })
        .collect()
}

/// ICMP echo and timestamp requests and ICMPv6 echo requests, ids at both ends of the
/// range.
pub fn icmp(net: u8) -> Vec<String> {
    [
        format!(
            "-p icmp -s 10.{net}.12.1 -d 10.{net}.12.2 --icmp-type 8 --icmp-code 0 --icmp-id 77 -t 30"
        ),
        format!(
            "-p icmp -s 10.{net}.12.1 -d 10.{net}.12.2 --icmp-type 8 --icmp-code 0 --icmp-id 65535 -t 31 -u SEEN_REPLY"
        ),
        format!(
            "-p icmp -s 10.{net}.12.1 -d 10.{net}.12.2 --icmp-type 13 --icmp-code 0 --icmp-id 78 -t 32"
        ),
        format!(
            "-p icmpv6 -s fd00:{net}::12:1 -d fd00:{net}::12:2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 79 -t 33"
        ),
        format!(
            "-p icmpv6 -s fd00:{net}::12:1 -d fd00:{net}::12:2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 0 -t 34 -u SEEN_REPLY,ASSURED"
        ),
    ]
    .into()
}

/// GRE with keys at both ends of the range, and protocols conntrack has no tracker for
/// (99, 2, 50, 255), over IPv4 and IPv6.
pub fn gre_and_unknown(net: u8) -> Vec<String> {
    [
        format!("-p gre -s 10.{net}.14.1 -d 10.{net}.14.2 --srckey 0x1234 --dstkey 0x5678 -t 600"),
        format!(
            "-p gre -s 10.{net}.14.3 -d 10.{net}.14.4 --srckey 0 --dstkey 0xffff -t 601 -u SEEN_REPLY"
        ),
        format!("-p 99 -s 10.{net}.14.1 -d 10.{net}.14.2 -t 602"),
        format!("-p 2 -s 10.{net}.14.1 -d 10.{net}.14.2 -t 603 -u SEEN_REPLY"),
        format!("-p 50 -s 10.{net}.14.1 -d 10.{net}.14.2 -t 604"),
        format!("-p 255 -s 10.{net}.14.1 -d 10.{net}.14.2 -t 605 -u SEEN_REPLY,ASSURED"),
        format!("-p 99 -s fd00:{net}::14:1 -d fd00:{net}::14:2 -t 606"),
    ]
    .into()
}

/// GRE entries between one pair of addresses that differ only in their keys (one with
/// a reply key rewritten, as NAT would), an IPv6 one with the first one's keys, and a TCP
/// entry whose ports are the same numbers (16 and 32): a key filter selects GRE entries
/// by their keys alone.
pub fn gre_keys(net: u8) -> Vec<String> {
    let (a, b) = (format!("10.{net}.24.1"), format!("10.{net}.24.2"));
    [
        format!("-p gre -s {a} -d {b} --srckey 0x10 --dstkey 0x20 -t 100"),
        format!("-p gre -s {a} -d {b} --srckey 0x11 --dstkey 0x20 -t 101"),
        format!("-p gre -s {a} -d {b} --srckey 0x10 --dstkey 0x21 -t 102"),
        format!(
            "-p gre -s {a} -d {b} --srckey 0x12 --dstkey 0x20 -r {b} -q {a} --reply-key-src 0x20 --reply-key-dst 0x99 -t 103"
        ),
        format!("-p gre -s fd00:{net}::24:1 -d fd00:{net}::24:2 --srckey 0x10 --dstkey 0x20 -t 104"),
        format!("-p tcp -s {a} -d {b} --sport 16 --dport 32 --state ESTABLISHED -t 105"),
    ]
    .into()
}

/// One TCP tuple in the entry's zone (7, 65535), the original direction's (8) and the
/// reply's (9), plus UDP and ICMP in zones. (The kernel rejects --orig-zone with
/// --reply-zone, and -w with either, with EINVAL.)
pub fn zones(net: u8) -> Vec<String> {
    [
        format!(
            "-p tcp -s 10.{net}.17.1 -d 10.{net}.17.2 --sport 1 --dport 2 --state ESTABLISHED -t 100 -w 7"
        ),
        format!(
            "-p tcp -s 10.{net}.17.1 -d 10.{net}.17.2 --sport 1 --dport 2 --state ESTABLISHED -t 100 -w 65535 -u SEEN_REPLY"
        ),
        format!(
            "-p tcp -s 10.{net}.17.1 -d 10.{net}.17.2 --sport 1 --dport 2 --state ESTABLISHED -t 100 --orig-zone 8"
        ),
        format!(
            "-p tcp -s 10.{net}.17.1 -d 10.{net}.17.2 --sport 1 --dport 2 --state ESTABLISHED -t 100 --reply-zone 9 -u SEEN_REPLY,ASSURED"
        ),
        format!("-p udp -s 10.{net}.17.1 -d 10.{net}.17.2 --sport 1 --dport 2 -t 100 -w 3 -m 4"),
        format!(
            "-p icmp -s 10.{net}.17.1 -d 10.{net}.17.2 --icmp-type 8 --icmp-code 0 --icmp-id 1 -t 100 -w 3"
        ),
        format!("-p udp -s fd00:{net}::17:1 -d fd00:{net}::17:2 --sport 1 --dport 2 -t 100 -w 5"),
    ]
    .into()
}
