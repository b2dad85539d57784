//! The kernel-side filter of the event socket: a classic BPF program that drops, before
//! they are queued, the conntrack events that cannot match the user's filter.
//!
//! `ct watch` hears every change to the table. With a narrow filter on a busy host nearly
//! all of those events would be queued on the socket, copied out and decoded only for
//! [`Filter::matches`] to throw them away; and while they wait they take the room of the
//! events that do match (a full socket buffer loses events: ENOBUFS). [`program`] turns
//! the filter into a program the kernel runs on each event before queueing it, and
//! `netlink::Conntrack::subscribe` attaches it to the socket (SO_ATTACH_FILTER).
//!
//! # What the program judges
//!
//! The event's kind (message type and NLM_F_CREATE, against the `-e` set), the family,
//! the protocol, the original and reply addresses under their masks, the GRE keys, the
//! protocol state, the mark, the zone and the status bits: the conditions that each look
//! at fixed-size attributes. It finds attributes with the kernel's own netlink-attribute
//! loads (SKF_AD_NLATTR, SKF_AD_NLATTR_NEST), so it needs no loops. Ports, NAT, labels,
//! the helper, the ICMP fields, the tuple zones and `--addr` are left to user space.
//!
//! # Why it lets through what it cannot judge
//!
//! Every event that reaches user space is checked again by [`Filter::matches`], which
//! stays the whole truth: the program is an early, partial copy of it and must never
//! drop an event `matches` would keep. So it drops only when it is sure, and lets an event
//! on to the next check whenever it cannot be: when the attribute is missing (an update
//! event without the protocol state, say), when it has a size the kernel never gives it,
//! or when the message is no entry event at all (an error, an expectation: the kind is
//! all that is judged of those). A check too long for classic BPF's 8-bit jump offsets,
//! or one the program has no room left for, is left out: user space still applies it.
//!
//! # Layout
//!
//! The program is a row of blocks, one per check, ANDed: a block falls through to the
//! next one when the event may match and returns 0 (drop) when it cannot, and the last
//! instruction accepts. Every jump stays inside its block, so a block is assembled on
//! its own (by the assembler of `bpf.rs`, with labels) and can be left out without
//! touching the others.

use std::net::IpAddr;

use libc::sock_filter;

use super::bpf::{
    ACCEPT, ATTRIBUTES_OFFSET, DROP, FAMILY_BYTE, JGE_K, JSET_K, Label, MAX_INSTRUCTIONS,
    MESSAGE_TYPE_BYTE, NLMSG_FLAGS_OFFSET, RET_K, SUBSYSTEM_BYTE, Size, VALUE_OFFSET, as_loaded,
    assemble_block, statement,
};

use crate::filter::{AddrMatch, Filter, MarkMatch, StatusMatch};
use crate::kernel::*;
use crate::model::entry::{ProtoState, STATEFUL};
use crate::model::event::EventSet;

/// The program for `filter` and `events`, or None when it would judge nothing (then
/// attach nothing).
pub fn program(filter: &Filter, events: EventSet) -> Option<Vec<sock_filter>> {
    let kind = if events == EventSet::ALL {
        None
    } else {
        kind_check(events)
    };
    let entry_checks = entry_checks(filter);
    let mut program: Vec<sock_filter> = kind.unwrap_or_default();
    if !entry_checks.is_empty() {
        program.extend(entry_gate());
    }
    for check in entry_checks {
        // Keep room for the final accept.
        if program.len() + check.len() < MAX_INSTRUCTIONS {
            program.extend(check);
        }
    }
    if program.is_empty() {
        return None;
    }
    program.push(statement(RET_K, ACCEPT));
    Some(program)
}

/// The scratch memory word where a block keeps a nest's offset while it looks inside.
const NEST_SLOT: u32 = 0;

// ---------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------

/// The blocks that read an entry's attributes, in the order they run; those the filter
/// does not ask for, or that do not assemble, are not there. The filter is taken apart
/// whole, without `..`: a field added to `Filter` does not compile here until someone
/// decides whether the program can judge it. A field it cannot judge is named `_` with
/// the reason: the program lets every event through on it, and [`Filter::matches`]
/// judges it in user space.
fn entry_checks(filter: &Filter) -> Vec<Vec<sock_filter>> {
    let Filter {
        family,
        protocols,
        orig_src,
        orig_dst,
        reply_src,
        reply_dst,
        // `--addr`: any of the four addresses, an OR across both tuples, where each
        // block judges one attribute.
        any_addr: _,
        // A port matches only an entry of a protocol with ports, and the same
        // attributes hold GRE's keys: the check would need the protocols with ports.
        orig_sport: _,
        orig_dport: _,
        reply_sport: _,
        reply_dport: _,
        any_port: _,
        orig_key_src,
        orig_key_dst,
        reply_key_src,
        reply_key_dst,
        // ICMP and ICMPv6 entries only, in attributes of their own (CTA_PROTO_ICMP_*).
        icmp_type: _,
        icmp_code: _,
        icmp_id: _,
        states,
        mark,
        zone,
        // In each tuple (CTA_TUPLE_ZONE); a tuple without one is in zone 0.
        orig_zone: _,
        reply_zone: _,
        status,
        // NAT compares one tuple with the other: no fixed value to compare with.
        src_nat: _,
        dst_nat: _,
        any_nat: _,
        // CTA_LABELS is a bit field of no fixed length.
        labels: _,
        // The helper's name is a string inside CTA_HELP.
        helper: _,
        // Rare, and judged in user space like the fields above.
        id: _,
    } = filter;
    let addresses = [
        (CTA_TUPLE_ORIG, Side::Source, orig_src),
        (CTA_TUPLE_ORIG, Side::Destination, orig_dst),
        (CTA_TUPLE_REPLY, Side::Source, reply_src),
        (CTA_TUPLE_REPLY, Side::Destination, reply_dst),
    ];
    let mut checks = vec![family.and_then(family_check), protocol_check(protocols)];
    checks.extend(
        addresses
            .into_iter()
            .map(|(tuple, side, wanted)| wanted.and_then(|w| address_check(tuple, side, w))),
    );
    checks.extend([
        key_check(CTA_TUPLE_ORIG, *orig_key_src, *orig_key_dst),
        key_check(CTA_TUPLE_REPLY, *reply_key_src, *reply_key_dst),
        state_check(states),
        mark.and_then(mark_check),
        zone.and_then(zone_check),
        status.and_then(status_check),
    ]);
    checks.into_iter().flatten().collect()
}

/// Drops the events of the kinds not in `events`: a NEW message with NLM_F_CREATE is a
/// new entry, without it an update, a DELETE message a destruction. Entries and
/// expectations number their messages alike, so both are judged; any other message (an
/// error, another subsystem's, a type no event has) goes on.
fn kind_check(events: EventSet) -> Option<Vec<sock_filter>> {
    assemble_block(|asm, pass| {
        let drop = asm.label();
        let verdict = |wanted: bool| if wanted { pass } else { drop };
        let conntrack_message = asm.label();
        asm.load_byte(SUBSYSTEM_BYTE);
        asm.if_equal(NFNL_SUBSYS_CTNETLINK.into(), conntrack_message);
        asm.unless_equal(NFNL_SUBSYS_CTNETLINK_EXP.into(), pass);
        asm.place(conntrack_message);
        asm.load_byte(MESSAGE_TYPE_BYTE);
        asm.if_equal(IPCTNL_MSG_CT_DELETE.into(), verdict(events.destroy));
        asm.unless_equal(IPCTNL_MSG_CT_NEW.into(), pass);
        if events.new == events.update {
            asm.goto(verdict(events.new));
        } else {
            asm.load_half(NLMSG_FLAGS_OFFSET);
            asm.branch(
                JSET_K,
                as_loaded(NLM_F_CREATE),
                Some(verdict(events.new)),
                Some(verdict(events.update)),
            );
        }
        asm.place(drop);
        asm.ret(DROP);
    })
}

/// Accepts at once every message that is no entry event (an error, an expectation, any
/// other ctnetlink message) or is too short to hold the nfgenmsg header: the checks after
/// it read an entry's attributes, which such a message does not have.
fn entry_gate() -> Vec<sock_filter> {
    assemble_block(|asm, pass| {
        let accept = asm.label();
        let entry_message = asm.label();
        asm.load_byte(SUBSYSTEM_BYTE);
        asm.unless_equal(NFNL_SUBSYS_CTNETLINK.into(), accept);
        asm.load_byte(MESSAGE_TYPE_BYTE);
        asm.if_equal(IPCTNL_MSG_CT_NEW.into(), entry_message);
        asm.unless_equal(IPCTNL_MSG_CT_DELETE.into(), accept);
        asm.place(entry_message);
        asm.load_length();
        asm.branch(JGE_K, ATTRIBUTES_OFFSET, Some(pass), None);
        asm.place(accept);
        asm.ret(ACCEPT);
    })
    .expect("the entry gate's jumps are short")
}

/// Drops an entry of another family (nfgenmsg's family byte).
fn family_check(family: u8) -> Option<Vec<sock_filter>> {
    assemble_block(|asm, pass| {
        asm.load_byte(FAMILY_BYTE);
        asm.if_equal(family.into(), pass);
        asm.ret(DROP);
    })
}

/// Drops an entry whose protocol (CTA_PROTO_NUM of the original tuple) is none of
/// `protocols`.
fn protocol_check(protocols: &[u8]) -> Option<Vec<sock_filter>> {
    if protocols.is_empty() {
        return None;
    }
    let mut protocols = protocols.to_vec();
    protocols.sort_unstable();
    protocols.dedup();
    assemble_block(|asm, pass| {
        asm.find_path(&[CTA_TUPLE_ORIG, CTA_TUPLE_PROTO, CTA_PROTO_NUM], pass);
        asm.enter_value(1, pass);
        asm.load_value(Size::Byte, VALUE_OFFSET);
        for protocol in protocols {
            asm.if_equal(protocol.into(), pass);
        }
        asm.ret(DROP);
    })
}

/// Which address of a tuple.
#[derive(Debug, Clone, Copy)]
enum Side {
    Source,
    Destination,
}

impl Side {
    /// This address's attribute in an IPv4 tuple and in an IPv6 one.
    fn attributes(self) -> (u16, u16) {
        match self {
            Side::Source => (CTA_IP_V4_SRC, CTA_IP_V6_SRC),
            Side::Destination => (CTA_IP_V4_DST, CTA_IP_V6_DST),
        }
    }
}

/// Drops an entry whose address on `side` of `tuple` (CTA_TUPLE_ORIG or
/// CTA_TUPLE_REPLY) differs from `wanted` under its mask, or is of the other family
/// (which [`AddrMatch::matches`] never accepts). An entry without that address goes on.
fn address_check(tuple: u16, side: Side, wanted: AddrMatch) -> Option<Vec<sock_filter>> {
    let words = address_words(wanted)?;
    let (v4, v6) = side.attributes();
    let (ours, theirs) = if wanted.is_ipv4() { (v4, v6) } else { (v6, v4) };
    // A word under a zero mask matches anything; an address whose mask is all zeros
    // still rules out the other family.
    let compared: Vec<(u32, u32, u32)> = (0u32..)
        .zip(&words)
        .filter(|(_, (_, mask))| *mask != 0)
        .map(|(index, &(address, mask))| (index, address, mask))
        .collect();
    assemble_block(|asm, pass| {
        let other_family = asm.label();
        let drop = asm.label();
        asm.find_path(&[tuple, CTA_TUPLE_IP], pass);
        asm.store(NEST_SLOT);
        asm.find_nested(ours);
        asm.if_equal(0, other_family);
        if !compared.is_empty() {
            asm.enter_value(4 * words.len() as u32, pass);
            for &(index, address, mask) in &compared {
                asm.load_value(Size::Word, VALUE_OFFSET + 4 * index);
                if mask != u32::MAX {
                    asm.and(mask);
                }
                asm.unless_equal(address & mask, drop);
            }
        }
        asm.goto(pass);
        // No address of our family: one of the other family cannot match, none at all
        // cannot be judged.
        asm.place(other_family);
        asm.load_stored(NEST_SLOT);
        asm.find_nested(theirs);
        asm.if_equal(0, pass);
        asm.place(drop);
        asm.ret(DROP);
    })
}

/// The address and the mask as (address, mask) pairs of the 32-bit words a word load
/// reads from the address attribute, most significant first; None when the two are of
/// different families, which no filter parser makes.
fn address_words(wanted: AddrMatch) -> Option<Vec<(u32, u32)>> {
    match (wanted.addr, wanted.mask) {
        (IpAddr::V4(address), IpAddr::V4(mask)) => Some(vec![(address.into(), mask.into())]),
        (IpAddr::V6(address), IpAddr::V6(mask)) => {
            let (address, mask) = (u128::from(address), u128::from(mask));
            let word = |value: u128, index: u32| (value >> (96 - 32 * index)) as u32;
            Some(
                (0..4)
                    .map(|index| (word(address, index), word(mask, index)))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Drops an entry whose `tuple` (CTA_TUPLE_ORIG or CTA_TUPLE_REPLY) is of another
/// protocol than GRE, or has other GRE keys than those wanted: the kernel keeps a key in
/// the tuple's port attributes (CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT). A tuple without
/// its protocol or a key goes on.
fn key_check(tuple: u16, srckey: Option<u16>, dstkey: Option<u16>) -> Option<Vec<sock_filter>> {
    if srckey.is_none() && dstkey.is_none() {
        return None;
    }
    assemble_block(|asm, pass| {
        let drop = asm.label();
        asm.find_path(&[tuple, CTA_TUPLE_PROTO], pass);
        asm.store(NEST_SLOT);
        asm.find_nested(CTA_PROTO_NUM);
        asm.if_equal(0, pass);
        asm.enter_value(1, pass);
        asm.load_value(Size::Byte, VALUE_OFFSET);
        asm.unless_equal(IPPROTO_GRE.into(), drop);
        for (kind, key) in [(CTA_PROTO_SRC_PORT, srckey), (CTA_PROTO_DST_PORT, dstkey)] {
            let Some(key) = key else { continue };
            asm.load_stored(NEST_SLOT);
            asm.find_nested(kind);
            asm.if_equal(0, pass);
            asm.enter_value(2, pass);
            asm.load_value(Size::Half, VALUE_OFFSET);
            asm.unless_equal(key.into(), drop);
        }
        asm.goto(pass);
        asm.place(drop);
        asm.ret(DROP);
    })
}

/// Where the kernel puts each stateful tracker's state: the protocol, its nest in
/// CTA_PROTOINFO and the state attribute in that nest (a test checks that every
/// protocol of [`STATEFUL`] is here).
const PROTOINFO_STATES: [(u8, u16, u16); STATEFUL.len()] = [
    (IPPROTO_TCP, CTA_PROTOINFO_TCP, CTA_PROTOINFO_TCP_STATE),
    (IPPROTO_SCTP, CTA_PROTOINFO_SCTP, CTA_PROTOINFO_SCTP_STATE),
    (IPPROTO_DCCP, CTA_PROTOINFO_DCCP, CTA_PROTOINFO_DCCP_STATE),
];

/// A tracker that has a state: its nest in CTA_PROTOINFO, the state attribute in that
/// nest, and the states of its own the filter wants.
struct Tracker {
    nest: u16,
    state: u16,
    wanted: Vec<u8>,
}

/// Drops an entry whose protocol state is none of `states`. The state is in the
/// tracker's nest of CTA_PROTOINFO, and a TCP state matches only a TCP nest: an entry
/// whose tracker has no wanted state is dropped. An entry without CTA_PROTOINFO (an
/// update that did not change it, a protocol without states), with another tracker's
/// nest or with no state in its nest goes on.
fn state_check(states: &[ProtoState]) -> Option<Vec<sock_filter>> {
    if states.is_empty() {
        return None;
    }
    // The trackers in the order of STATEFUL, each with the states it is wanted in.
    let trackers: Vec<Tracker> = STATEFUL
        .iter()
        .filter_map(|&(protonum, _, _)| {
            let (_, nest, state) = PROTOINFO_STATES
                .into_iter()
                .find(|(number, _, _)| *number == protonum)?;
            let mut wanted: Vec<u8> = states
                .iter()
                .filter(|wanted| wanted.protonum() == protonum)
                .map(|wanted| wanted.raw())
                .collect();
            wanted.sort_unstable();
            wanted.dedup();
            Some(Tracker {
                nest,
                state,
                wanted,
            })
        })
        .collect();
    assemble_block(|asm, pass| {
        let drop = asm.label();
        // Where each tracker's nest is judged; straight to `drop` for one with no wanted
        // state.
        let judge: Vec<Label> = trackers
            .iter()
            .map(|tracker| {
                if tracker.wanted.is_empty() {
                    drop
                } else {
                    asm.label()
                }
            })
            .collect();
        asm.find_top_level(CTA_PROTOINFO);
        asm.if_equal(0, pass);
        asm.store(NEST_SLOT);
        for (tracker, &judge) in trackers.iter().zip(&judge) {
            asm.load_stored(NEST_SLOT);
            asm.find_nested(tracker.nest);
            asm.unless_equal(0, judge);
        }
        // The nest of a tracker this module does not know.
        asm.goto(pass);
        for (tracker, &judge) in trackers.iter().zip(&judge) {
            if tracker.wanted.is_empty() {
                continue;
            }
            // A holds the offset of the tracker's nest.
            asm.place(judge);
            asm.find_nested(tracker.state);
            asm.if_equal(0, pass);
            asm.enter_value(1, pass);
            asm.load_value(Size::Byte, VALUE_OFFSET);
            for &state in &tracker.wanted {
                asm.if_equal(state.into(), pass);
            }
            asm.goto(drop);
        }
        asm.place(drop);
        asm.ret(DROP);
    })
}

/// Drops an entry whose CTA_MARK, masked, is not the value (which is not masked: see
/// [`MarkMatch`]).
fn mark_check(mark: MarkMatch) -> Option<Vec<sock_filter>> {
    value_check(CTA_MARK, Size::Word, mark.mask, mark.value)
}

/// Drops an entry whose CTA_ZONE is another zone. An entry without one is in zone 0 for
/// [`Filter::matches`], but goes on here.
fn zone_check(zone: u16) -> Option<Vec<sock_filter>> {
    value_check(CTA_ZONE, Size::Half, u16::MAX.into(), zone.into())
}

/// Drops an entry whose CTA_STATUS lacks a bit that must be set or has one that must be
/// clear: both at once are `status & (set | clear) == set`, unless a bit is both.
fn status_check(status: StatusMatch) -> Option<Vec<sock_filter>> {
    let StatusMatch { set, clear } = status;
    if set & clear != 0 {
        // No status has a bit both set and clear (the parser refuses such a filter, the
        // type does not): drop every status, as a masked-out one is never all ones.
        return value_check(CTA_STATUS, Size::Word, 0, u32::MAX);
    }
    value_check(CTA_STATUS, Size::Word, set | clear, set)
}

/// Drops an entry whose top-level attribute `kind`, a big-endian number of `size`,
/// masked with `mask`, is not `expected`. None when every value would do.
fn value_check(kind: u16, size: Size, mask: u32, expected: u32) -> Option<Vec<sock_filter>> {
    if mask == 0 && expected == 0 {
        return None;
    }
    assemble_block(|asm, pass| {
        asm.find_top_level(kind);
        asm.if_equal(0, pass);
        asm.enter_value(size.bytes(), pass);
        asm.load_value(size, VALUE_OFFSET);
        if mask != size.all_ones() {
            asm.and(mask);
        }
        asm.if_equal(expected, pass);
        asm.ret(DROP);
    })
}

#[cfg(test)]
mod tests;
