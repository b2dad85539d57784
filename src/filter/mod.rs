//! Filters: which entries a command shows, counts or acts on.
//!
//! [`Filter::matches`] is the whole truth: every entry is checked in user space, whatever
//! the kernel was asked to filter, so the rows shown never depend on the running
//! kernel's abilities. All conditions are ANDed; a list within one flag (`-p tcp,udp`,
//! `--state A,B`) is ORed.
//!
//! The same filter is compiled here for each of the kernel's own filters, so that on a
//! big table the entries that cannot match never cross into user space:
//!
//! | backend | what it makes | when the kernel cannot judge a field |
//! | --- | --- | --- |
//! | [`dump`] | dump-request attributes (`CTA_MARK`, `CTA_FILTER`...); the expectation dump's family | it asks for more; `matches` drops the rest |
//! | [`events`] | a classic BPF program for the event socket, assembled with [`bpf`] | the program lets the event through |
//! | [`flush`] | one flush request carrying the filter | no flush is made: the caller deletes entry by entry |
//!
//! Each backend takes the filter apart without `..`, so a new field does not compile
//! until every backend has decided what to do with it. So do both halves of the
//! expectation side: [`Filter::matches_expectation`] judges a field or
//! [`Filter::not_for_expectations`] refuses it for `expect` (exit 2). The netlink layer
//! sends what they make.

pub mod bpf;
pub mod dump;
pub mod events;
pub mod flush;
pub mod values;

use std::net::IpAddr;

use crate::kernel::*;
use crate::model::entry::{Entry, L4, NatRewrite, ProtoState, STATEFUL};
use crate::model::expect::Expectation;
pub use values::{AddrMatch, MarkMatch, NatMatch, StatusMatch};

/// Everything an entry must satisfy to be shown. The default shows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// AF_INET or AF_INET6; from `-f` or implied by an address. It stays the raw
    /// nfgenmsg byte ([`Family::raw`](crate::model::entry::Family::raw)) because that is
    /// what every backend but the matcher works in: the dump requests send it, the event
    /// program compares it with the message's, the flush and the expectation dump put it
    /// in their headers, and a request without one is AF_UNSPEC, which no model family
    /// names.
    pub family: Option<u8>,
    /// Any of these layer-4 protocols (`-p`).
    pub protocols: Vec<u8>,
    pub orig_src: Option<AddrMatch>,
    pub orig_dst: Option<AddrMatch>,
    pub reply_src: Option<AddrMatch>,
    pub reply_dst: Option<AddrMatch>,
    /// `--addr`: any of the four addresses.
    pub any_addr: Option<AddrMatch>,
    pub orig_sport: Option<u16>,
    pub orig_dport: Option<u16>,
    pub reply_sport: Option<u16>,
    pub reply_dport: Option<u16>,
    /// `--port`: any of the four ports.
    pub any_port: Option<u16>,
    /// `--srckey`, `--dstkey`, `--reply-key-src`, `--reply-key-dst`: GRE keys, which
    /// only GRE entries have (the kernel keeps them in the tuple's port fields).
    pub orig_key_src: Option<u16>,
    pub orig_key_dst: Option<u16>,
    pub reply_key_src: Option<u16>,
    pub reply_key_dst: Option<u16>,
    /// `--icmp-type`, `--icmp-code`, `--icmp-id` (or the icmpv6 spellings): of the
    /// original direction, as conntrack compares them; ICMP and ICMPv6 entries only.
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp_id: Option<u16>,
    /// Any of these protocol states (`--state`).
    pub states: Vec<ProtoState>,
    pub mark: Option<MarkMatch>,
    pub zone: Option<u16>,
    pub orig_zone: Option<u16>,
    pub reply_zone: Option<u16>,
    pub status: Option<StatusMatch>,
    pub src_nat: Option<NatMatch>,
    pub dst_nat: Option<NatMatch>,
    pub any_nat: Option<NatMatch>,
    /// Label bits that must all be set (`-l`).
    pub labels: Vec<u32>,
    /// The helper's name (`--helper`).
    pub helper: Option<String>,
    /// The kernel's id of the entry (`--id`, conntrack's `-i`).
    pub id: Option<u32>,
}

impl Filter {
    /// True when `entry` satisfies every condition. Every field is named here, without
    /// `..` (those a helper below reads, as `_` beside its name), so that a field added
    /// to `Filter` does not compile until it is matched.
    pub fn matches(&self, entry: &Entry<'_>) -> bool {
        let Filter {
            family,
            protocols,
            // addresses_match
            orig_src: _,
            orig_dst: _,
            reply_src: _,
            reply_dst: _,
            any_addr: _,
            // ports_match
            orig_sport: _,
            orig_dport: _,
            reply_sport: _,
            reply_dport: _,
            any_port: _,
            // keys_match
            orig_key_src: _,
            orig_key_dst: _,
            reply_key_src: _,
            reply_key_dst: _,
            // icmp_matches
            icmp_type: _,
            icmp_code: _,
            icmp_id: _,
            states,
            mark,
            // zones_match
            zone: _,
            orig_zone: _,
            reply_zone: _,
            status,
            // nat_matches
            src_nat: _,
            dst_nat: _,
            any_nat: _,
            // labels_match
            labels: _,
            helper,
            id,
        } = self;
        family.is_none_or(|f| entry.family.raw() == f)
            && (protocols.is_empty() || protocols.contains(&entry.protonum()))
            && self.addresses_match(entry)
            && self.ports_match(entry)
            && self.keys_match(entry)
            && self.icmp_matches(entry)
            && (states.is_empty() || entry.state.is_some_and(|s| states.contains(&s)))
            && mark.is_none_or(|m| entry.mark.is_some_and(|v| v & m.mask == m.value))
            && self.zones_match(entry)
            && status.is_none_or(|s| entry.status.is_some_and(|v| s.matches(v.0)))
            && self.nat_matches(entry)
            && self.labels_match(entry)
            && helper
                .as_ref()
                .is_none_or(|h| entry.helper == Some(h.as_bytes()))
            && id.is_none_or(|id| entry.id == Some(id))
    }

    /// The flag of the first condition that says nothing about an expectation, if any:
    /// only the family, the protocol, the expected connection's addresses, ports and GRE
    /// keys (`-s`, `-d`, `--sport`, `--dport`, `--srckey`, `--dstkey`), any address or
    /// port (`--addr`, `--port`, the master's too) and the helper apply. Every field is
    /// named here without `..`, as in [`Filter::matches_expectation`]: a new field does
    /// not compile until it is judged there or refused here.
    pub fn not_for_expectations(&self) -> Option<&'static str> {
        let Filter {
            // Judged by matches_expectation.
            family: _,
            protocols: _,
            orig_src: _,
            orig_dst: _,
            any_addr: _,
            orig_sport: _,
            orig_dport: _,
            any_port: _,
            orig_key_src: _,
            orig_key_dst: _,
            helper: _,
            // Refused: an expectation has no such thing.
            reply_src,
            reply_dst,
            reply_sport,
            reply_dport,
            reply_key_src,
            reply_key_dst,
            icmp_type,
            icmp_code,
            icmp_id,
            states,
            mark,
            zone,
            orig_zone,
            reply_zone,
            status,
            src_nat,
            dst_nat,
            any_nat,
            labels,
            // An expectation's id is another number space (CTA_EXPECT_ID).
            id,
        } = self;
        [
            (reply_src.is_some(), "-r/--reply-src"),
            (reply_dst.is_some(), "-q/--reply-dst"),
            (reply_sport.is_some(), "--reply-port-src"),
            (reply_dport.is_some(), "--reply-port-dst"),
            (reply_key_src.is_some(), "--reply-key-src"),
            (reply_key_dst.is_some(), "--reply-key-dst"),
            (icmp_type.is_some(), "--icmp-type"),
            (icmp_code.is_some(), "--icmp-code"),
            (icmp_id.is_some(), "--icmp-id"),
            (!states.is_empty(), "--state"),
            (mark.is_some(), "-m/--mark"),
            (zone.is_some(), "-w/--zone"),
            (orig_zone.is_some(), "--orig-zone"),
            (reply_zone.is_some(), "--reply-zone"),
            (status.is_some(), "-u/--status"),
            (src_nat.is_some(), "-n/--src-nat"),
            (dst_nat.is_some(), "-g/--dst-nat"),
            (any_nat.is_some(), "-j/--any-nat"),
            (!labels.is_empty(), "-l/--label"),
            (id.is_some(), "--id"),
        ]
        .into_iter()
        .find_map(|(set, flag)| set.then_some(flag))
    }

    /// True when `expectation` satisfies every condition that applies to expectations
    /// (see [`Filter::not_for_expectations`]): `-s`/`-d` and the ports are the expected
    /// connection's, `--addr` and `--port` any of the expected or master tuple's. Every
    /// field is named without `..`; those refused for expectations as `_`.
    pub fn matches_expectation(&self, expectation: &Expectation<'_>) -> bool {
        let Filter {
            family,
            protocols,
            orig_src,
            orig_dst,
            any_addr,
            orig_sport,
            orig_dport,
            any_port,
            orig_key_src,
            orig_key_dst,
            helper,
            // Refused by not_for_expectations before any dump.
            reply_src: _,
            reply_dst: _,
            reply_sport: _,
            reply_dport: _,
            reply_key_src: _,
            reply_key_dst: _,
            icmp_type: _,
            icmp_code: _,
            icmp_id: _,
            states: _,
            mark: _,
            zone: _,
            orig_zone: _,
            reply_zone: _,
            status: _,
            src_nat: _,
            dst_nat: _,
            any_nat: _,
            labels: _,
            id: _,
        } = self;
        let (expected, master) = (&expectation.expected, &expectation.master);
        let address = |wanted: &Option<AddrMatch>, have: Option<IpAddr>| {
            wanted.is_none_or(|w| have.is_some_and(|a| w.matches(a)))
        };
        let ports = [expected.ports(), master.ports()];
        family.is_none_or(|f| expectation.family.raw() == f)
            && (protocols.is_empty() || protocols.contains(&expected.protonum))
            && address(orig_src, expected.src)
            && address(orig_dst, expected.dst)
            && any_addr.is_none_or(|w| {
                [expected.src, expected.dst, master.src, master.dst]
                    .into_iter()
                    .flatten()
                    .any(|a| w.matches(a))
            })
            && orig_sport.is_none_or(|p| expected.ports().is_some_and(|(sport, _)| sport == p))
            && orig_dport.is_none_or(|p| expected.ports().is_some_and(|(_, dport)| dport == p))
            && keys_match(*orig_key_src, *orig_key_dst, expected.l4)
            && any_port.is_none_or(|p| {
                ports
                    .into_iter()
                    .flatten()
                    .any(|(sport, dport)| sport == p || dport == p)
            })
            && helper
                .as_ref()
                .is_none_or(|h| expectation.helper == Some(h.as_bytes()))
    }

    fn addresses_match(&self, entry: &Entry<'_>) -> bool {
        let check = |wanted: Option<AddrMatch>, have: Option<IpAddr>| {
            wanted.is_none_or(|w| have.is_some_and(|a| w.matches(a)))
        };
        let (o, r) = (&entry.original, &entry.reply);
        check(self.orig_src, o.src)
            && check(self.orig_dst, o.dst)
            && check(self.reply_src, r.src)
            && check(self.reply_dst, r.dst)
            && self.any_addr.is_none_or(|w| {
                [o.src, o.dst, r.src, r.dst]
                    .into_iter()
                    .flatten()
                    .any(|a| w.matches(a))
            })
    }

    /// Ports match only entries whose protocol has ports (tcp, udp, udplite, sctp,
    /// dccp), as in conntrack, where the port options exist only for those protocols.
    fn ports_match(&self, entry: &Entry<'_>) -> bool {
        let wants_ports = self.orig_sport.is_some()
            || self.orig_dport.is_some()
            || self.reply_sport.is_some()
            || self.reply_dport.is_some()
            || self.any_port.is_some();
        if !wants_ports {
            return true;
        }
        let (Some((os, od)), Some((rs, rd))) = (entry.original.ports(), entry.reply.ports()) else {
            return false;
        };
        let check = |wanted: Option<u16>, have: u16| wanted.is_none_or(|w| w == have);
        check(self.orig_sport, os)
            && check(self.orig_dport, od)
            && check(self.reply_sport, rs)
            && check(self.reply_dport, rd)
            && self.any_port.is_none_or(|p| [os, od, rs, rd].contains(&p))
    }

    /// Keys match only GRE entries, each direction its own keys: the kernel keeps them
    /// where other protocols keep ports, but `--sport 16` never means key 16.
    fn keys_match(&self, entry: &Entry<'_>) -> bool {
        keys_match(self.orig_key_src, self.orig_key_dst, entry.original.l4)
            && keys_match(self.reply_key_src, self.reply_key_dst, entry.reply.l4)
    }

    /// True when the filter asks for any GRE key.
    pub fn wants_keys(&self) -> bool {
        self.orig_key_src.is_some()
            || self.orig_key_dst.is_some()
            || self.reply_key_src.is_some()
            || self.reply_key_dst.is_some()
    }

    /// True when the filter asks for any ICMP field.
    pub fn wants_icmp(&self) -> bool {
        self.icmp_type.is_some() || self.icmp_code.is_some() || self.icmp_id.is_some()
    }

    fn icmp_matches(&self, entry: &Entry<'_>) -> bool {
        if !self.wants_icmp() {
            return true;
        }
        let L4::Icmp {
            icmp_type,
            code,
            id,
        } = entry.original.l4
        else {
            return false;
        };
        self.icmp_type.is_none_or(|t| t == icmp_type)
            && self.icmp_code.is_none_or(|c| c == code)
            && self.icmp_id.is_none_or(|i| i == id)
    }

    /// conntrack compares zones "non-strictly": an entry without a zone attribute is in
    /// zone 0. So `-w 0` also shows an entry that has a zone in one direction only.
    fn zones_match(&self, entry: &Entry<'_>) -> bool {
        let check =
            |wanted: Option<u16>, have: Option<u16>| wanted.is_none_or(|w| have.unwrap_or(0) == w);
        check(self.zone, entry.zone)
            && check(self.orig_zone, entry.original.zone)
            && check(self.reply_zone, entry.reply.zone)
    }

    fn nat_matches(&self, entry: &Entry<'_>) -> bool {
        let (snat, dnat) = (entry.source_nat(), entry.destination_nat());
        self.src_nat.is_none_or(|n| nat_rewrote_to(&n, snat))
            && self.dst_nat.is_none_or(|n| nat_rewrote_to(&n, dnat))
            && self
                .any_nat
                .is_none_or(|n| nat_rewrote_to(&n, snat) || nat_rewrote_to(&n, dnat))
    }

    fn labels_match(&self, entry: &Entry<'_>) -> bool {
        if self.labels.is_empty() {
            return true;
        }
        let Some(labels) = entry.labels else {
            return false;
        };
        self.labels
            .iter()
            .all(|want| labels.bits().any(|bit| bit == *want))
    }
}

/// One tuple's GRE keys against the keys wanted: none wanted matches anything, any
/// wanted only a GRE tuple with those keys.
fn keys_match(srckey: Option<u16>, dstkey: Option<u16>, have: L4) -> bool {
    if srckey.is_none() && dstkey.is_none() {
        return true;
    }
    let L4::Gre {
        srckey: src,
        dstkey: dst,
    } = have
    else {
        return false;
    };
    srckey.is_none_or(|k| k == src) && dstkey.is_none_or(|k| k == dst)
}

/// `-n`/`-g`/`-j`: the entry was NATed that way and, when given, to that address and port.
fn nat_rewrote_to(nat: &NatMatch, rewrite: Option<NatRewrite>) -> bool {
    let Some(rewrite) = rewrite else {
        return false;
    };
    nat.addr
        .is_none_or(|a| rewrite.address_rewritten && rewrite.address == Some(a))
        && nat
            .port
            .is_none_or(|p| rewrite.port_rewritten && rewrite.l4 == Some(p))
}

/// Resolves state names (any case) against the selected protocols, or against every
/// stateful protocol when none is selected. `LISTEN` is conntrack's old name for TCP's
/// state 9. Fails when a name belongs to none of them.
pub fn resolve_states(names: &[String], protocols: &[u8]) -> Result<Vec<ProtoState>, String> {
    let mut states = Vec::new();
    for name in names {
        let before = states.len();
        for (protonum, make, table) in STATEFUL {
            if !protocols.is_empty() && !protocols.contains(&protonum) {
                continue;
            }
            let number = table
                .iter()
                .position(|known| known.eq_ignore_ascii_case(name))
                .or_else(|| {
                    (protonum == IPPROTO_TCP && name.eq_ignore_ascii_case("LISTEN")).then_some(9)
                });
            if let Some(number) = number {
                states.push(make(number as u8));
            }
        }
        if states.len() == before {
            let scope = if protocols.is_empty() {
                "tcp, sctp or dccp".to_string()
            } else {
                "the selected protocols".to_string()
            };
            return Err(format!("no state '{name}' in {scope}"));
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests;
