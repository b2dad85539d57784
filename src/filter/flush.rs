//! Deleting by filter in one request: when a flush may carry the filter, and how.
//!
//! A flush is IPCTNL_MSG_CT_DELETE without a tuple. Since Linux 6.12 the kernel deletes
//! every entry that matches the filter attributes it carries, in one walk of the table,
//! instead of a dump and one request per entry. But a kernel that does not know an
//! attribute ignores it, and then deletes more than asked, up to everything. So the
//! single request is sent only when both hold:
//!
//! 1. The kernel evaluates the whole filter exactly, so that the set it deletes is the
//!    set `ct list` shows: the family, the mark and mask, the status bits, exact IPv4
//!    addresses, one protocol and TCP or UDP ports ([`whole_filter_attributes`]).
//!    Anything else (prefixes, IPv6 addresses, whose comparison the kernel has inverted,
//!    zones, which CTA_ZONE matches in either direction, GRE keys, which it does not
//!    compare, states, NAT, labels, lists)
//!    leaves the work to the per-entry path.
//! 2. The running kernel is known to honour every attribute sent: its release is at
//!    least the one that brought it ([`KernelRelease::honours`]). The release is what
//!    `uname` says; a vendor kernel with backports reports its base release and only
//!    ever has more than upstream's of that release, so the rule can only be too careful.
//!
//! Whatever is not sure goes entry by entry, which is exact on any kernel.

use netlink_packet_core::DefaultNla;

use super::dump::{compares_ports, mark_attributes, status_attributes, tuple_filter};
use crate::filter::Filter;
use crate::kernel::*;
use crate::netlink::Request;

/// A kernel's release, as `uname -r` starts: `6.18.44-...` is 6.18.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelRelease {
    pub major: u32,
    pub minor: u32,
}

impl KernelRelease {
    /// The release of the running kernel, or None when uname cannot be read.
    pub fn running() -> Option<KernelRelease> {
        // SAFETY: uname fills the zeroed struct; the fields are NUL-terminated.
        let mut names: libc::utsname = unsafe { std::mem::zeroed() };
        if unsafe { libc::uname(&mut names) } != 0 {
            return None;
        }
        let release: Vec<u8> = names
            .release
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        KernelRelease::parse(std::str::from_utf8(&release).ok()?)
    }

    /// `6.18.44-amd64` → 6.18.
    pub fn parse(release: &str) -> Option<KernelRelease> {
        let mut numbers = release.split(|c: char| !c.is_ascii_digit());
        let major = numbers.next()?.parse().ok()?;
        let minor = numbers.next()?.parse().ok()?;
        Some(KernelRelease { major, minor })
    }

    const fn at_least(major: u32, minor: u32) -> KernelRelease {
        KernelRelease { major, minor }
    }

    /// True when a flush on this kernel honours `attribute`, the filter attributes'
    /// kernel names: CTA_MARK (flush by mark, Linux 4.1), the family (nfgenmsg version 1,
    /// Linux 5.1), CTA_STATUS (5.15; ignored before), CTA_FILTER (6.12; refused on a
    /// flush before).
    pub fn honours(self, attribute: FlushAttribute) -> bool {
        let since = match attribute {
            FlushAttribute::Mark => KernelRelease::at_least(4, 1),
            FlushAttribute::Family => KernelRelease::at_least(5, 1),
            FlushAttribute::Status => KernelRelease::at_least(5, 15),
            FlushAttribute::Tuple => KernelRelease::at_least(6, 12),
        };
        self >= since
    }
}

/// What a flush request may carry besides nothing at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushAttribute {
    Mark,
    Family,
    Status,
    Tuple,
}

/// The flush requests (one, or one per family) that delete exactly what a filter
/// matches, for [`crate::netlink::Conntrack::flush`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flush(Vec<Request>);

impl Flush {
    /// The flush of what `filter` matches on a kernel of `release`, or None when no
    /// flush does exactly that (see [`requests`]).
    pub fn exact(filter: &Filter, release: KernelRelease) -> Option<Flush> {
        requests(filter, release).map(Flush)
    }

    pub(crate) fn requests(&self) -> &[Request] {
        &self.0
    }
}

/// The dumps that zero the counters of exactly the entries `filter` matches
/// (IPCTNL_MSG_CT_GET_CTRZERO, `ct list --zero`): the kernel zeroes each entry its dump
/// filter lets through, so the filter must be one the kernel evaluates exactly, the same
/// judgement as a flush's (a dump has honoured each attribute since a release no later
/// than a flush has), and the same attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zeroing(Vec<Request>);

impl Zeroing {
    /// The zeroing dumps of what `filter` matches on a kernel of `release`, or None when
    /// the kernel would zero entries the filter leaves out.
    pub fn exact(filter: &Filter, release: KernelRelease) -> Option<Zeroing> {
        let requests = requests(filter, release)?
            .into_iter()
            .map(|flush| Request {
                message_type: IPCTNL_MSG_CT_GET_CTRZERO,
                flags: NLM_F_DUMP,
                version: NFNETLINK_V0,
                operation: "the dump that zeroes counters",
                ..flush
            })
            .collect();
        Some(Zeroing(requests))
    }

    pub(crate) fn requests(&self) -> &[Request] {
        &self.0
    }
}

/// The flush requests that delete exactly what `filter` matches on a kernel of
/// `release`, or None when that cannot be done in one request per family: the filter
/// asks for something the kernel cannot evaluate exactly, or the kernel is not known to
/// honour an attribute it would need.
pub fn requests(filter: &Filter, release: KernelRelease) -> Option<Vec<Request>> {
    let families = match filter.family {
        Some(family) => vec![family],
        None => vec![AF_UNSPEC],
    };
    let families = if families == [AF_UNSPEC] && needs_tuple_filter(filter) {
        // The kernel takes CTA_FILTER only with a family: one flush per family.
        vec![AF_INET, AF_INET6]
    } else {
        families
    };
    families
        .into_iter()
        .map(|family| one_request(filter, family, release))
        .collect()
}

fn needs_tuple_filter(filter: &Filter) -> bool {
    !tuple_filter(filter, AF_INET).is_empty()
}

fn one_request(filter: &Filter, family: u8, release: KernelRelease) -> Option<Request> {
    let (attributes, needs) = whole_filter_attributes(filter, family)?;
    if !needs.iter().all(|&attribute| release.honours(attribute)) {
        return None;
    }
    let mut request = Request::single(
        NFNL_SUBSYS_CTNETLINK,
        IPCTNL_MSG_CT_DELETE,
        family,
        attributes,
        "the flush",
    );
    if family != AF_UNSPEC {
        request.version = NFNETLINK_V1;
    }
    Some(request)
}

/// True when the kernel evaluates every condition of `filter` exactly in a flush of
/// `family`. The filter is taken apart whole, without `..`: a field added to `Filter`
/// does not compile here until someone decides whether a flush can carry it, since a
/// flush that ignored a condition would delete more than `ct list` shows.
fn kernel_matches_exactly(filter: &Filter, family: u8) -> bool {
    let Filter {
        // The request's own family (nfgenmsg, version 1).
        family: _,
        protocols,
        orig_src,
        orig_dst,
        reply_src,
        reply_dst,
        any_addr,
        orig_sport,
        orig_dport,
        reply_sport,
        reply_dport,
        any_port,
        orig_key_src,
        orig_key_dst,
        reply_key_src,
        reply_key_dst,
        icmp_type,
        icmp_code,
        icmp_id,
        states,
        // CTA_MARK and CTA_MARK_MASK compare as the filter does.
        mark: _,
        zone,
        orig_zone,
        reply_zone,
        // CTA_STATUS and CTA_STATUS_MASK, likewise.
        status: _,
        src_nat,
        dst_nat,
        any_nat,
        labels,
        helper,
        // A flush takes no CTA_ID: the kernel compares it only in a delete by tuple.
        id,
    } = filter;
    let exact_ipv4 = |m: &Option<crate::filter::AddrMatch>| {
        m.is_none_or(|m| m.is_exact() && m.is_ipv4() && family == AF_INET)
    };
    let ports_given = orig_sport.is_some()
        || orig_dport.is_some()
        || reply_sport.is_some()
        || reply_dport.is_some();
    protocols.len() <= 1
        && exact_ipv4(orig_src)
        && exact_ipv4(orig_dst)
        && exact_ipv4(reply_src)
        && exact_ipv4(reply_dst)
        && any_addr.is_none()
        && any_port.is_none()
        // CTA_FILTER compares ports only for some protocols (at most one is given here).
        && (!ports_given || compares_ports(protocols.first().copied()))
        // GRE keys are taken in the port fields and never compared.
        && orig_key_src.is_none()
        && orig_key_dst.is_none()
        && reply_key_src.is_none()
        && reply_key_dst.is_none()
        && icmp_type.is_none()
        && icmp_code.is_none()
        && icmp_id.is_none()
        && states.is_empty()
        // CTA_ZONE matches a zone in either direction.
        && zone.is_none()
        && orig_zone.is_none()
        && reply_zone.is_none()
        && src_nat.is_none()
        && dst_nat.is_none()
        && any_nat.is_none()
        && labels.is_empty()
        && helper.is_none()
        && id.is_none()
}

/// The attributes that make a flush of `family` delete exactly what `filter` matches,
/// and what the kernel must honour for that; None when some condition of the filter has
/// no exact kernel form.
fn whole_filter_attributes(
    filter: &Filter,
    family: u8,
) -> Option<(Vec<DefaultNla>, Vec<FlushAttribute>)> {
    if !kernel_matches_exactly(filter, family) {
        return None;
    }
    let mut needs = Vec::new();
    let mut attributes = Vec::new();
    if family != AF_UNSPEC {
        needs.push(FlushAttribute::Family);
    }
    let mark = mark_attributes(filter);
    if !mark.is_empty() {
        needs.push(FlushAttribute::Mark);
    }
    attributes.extend(mark);
    let status = status_attributes(filter);
    if !status.is_empty() {
        needs.push(FlushAttribute::Status);
    }
    attributes.extend(status);
    let tuple = tuple_filter(filter, family);
    if !tuple.is_empty() {
        needs.push(FlushAttribute::Tuple);
    }
    attributes.extend(tuple);
    Some((attributes, needs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{AddrMatch, MarkMatch, StatusMatch};

    const NOW: KernelRelease = KernelRelease::at_least(6, 18);

    #[test]
    fn zeroing_dumps_what_a_flush_would_delete_and_nothing_else() {
        let mark = Filter {
            mark: Some(MarkMatch { value: 1, mask: 1 }),
            ..Filter::default()
        };
        let zeroing = Zeroing::exact(&mark, NOW).unwrap();
        let flush = requests(&mark, NOW).unwrap();
        assert_eq!(zeroing.requests().len(), 1);
        let request = &zeroing.requests()[0];
        assert_eq!(request.message_type, IPCTNL_MSG_CT_GET_CTRZERO);
        assert_eq!(request.flags, NLM_F_DUMP);
        assert_eq!(request.attributes, flush[0].attributes);
        assert_eq!(request.family, flush[0].family);
        let prefix = Filter {
            orig_src: Some(
                AddrMatch::exact("10.0.0.0".parse().unwrap())
                    .with_mask("255.0.0.0".parse().unwrap())
                    .unwrap(),
            ),
            ..Filter::default()
        };
        assert_eq!(Zeroing::exact(&prefix, NOW), None);
        assert_eq!(Zeroing::exact(&mark, KernelRelease::at_least(4, 0)), None);
    }

    #[test]
    fn the_release_is_read_as_uname_writes_it() {
        assert_eq!(
            KernelRelease::parse("6.18.44-amd64"),
            Some(KernelRelease::at_least(6, 18))
        );
        assert_eq!(
            KernelRelease::parse("5.14.0-427.el9.x86_64"),
            Some(KernelRelease::at_least(5, 14))
        );
        assert_eq!(KernelRelease::parse("6"), None);
        assert_eq!(KernelRelease::parse("garbage"), None);
        assert!(KernelRelease::running().is_some());
    }

    #[test]
    fn each_attribute_waits_for_the_kernel_that_honours_it() {
        let mark = Filter {
            mark: Some(MarkMatch { value: 1, mask: 1 }),
            ..Filter::default()
        };
        assert!(requests(&mark, KernelRelease::at_least(4, 1)).is_some());
        assert!(requests(&mark, KernelRelease::at_least(4, 0)).is_none());
        let status = Filter {
            status: Some(StatusMatch {
                set: 1 << IPS_ASSURED_BIT,
                clear: 0,
            }),
            ..Filter::default()
        };
        assert!(requests(&status, KernelRelease::at_least(5, 15)).is_some());
        assert!(requests(&status, KernelRelease::at_least(5, 14)).is_none());
        let tuple = Filter {
            family: Some(AF_INET),
            orig_src: Some(AddrMatch::exact("10.0.0.1".parse().unwrap())),
            ..Filter::default()
        };
        assert!(requests(&tuple, KernelRelease::at_least(6, 12)).is_some());
        assert!(requests(&tuple, KernelRelease::at_least(6, 11)).is_none());
        let family = Filter {
            family: Some(AF_INET6),
            ..Filter::default()
        };
        let sent = requests(&family, KernelRelease::at_least(5, 1)).unwrap();
        assert_eq!((sent[0].family, sent[0].version), (AF_INET6, NFNETLINK_V1));
        assert!(requests(&family, KernelRelease::at_least(5, 0)).is_none());
    }

    #[test]
    fn what_the_kernel_cannot_match_exactly_goes_entry_by_entry() {
        let v6 = Filter {
            family: Some(AF_INET6),
            orig_src: Some(AddrMatch::exact("fd00::1".parse().unwrap())),
            ..Filter::default()
        };
        let prefix = Filter {
            family: Some(AF_INET),
            orig_src: Some("10.0.0.0/16".parse().unwrap()),
            ..Filter::default()
        };
        let zone = Filter {
            zone: Some(7),
            ..Filter::default()
        };
        let two_protocols = Filter {
            protocols: vec![IPPROTO_TCP, IPPROTO_UDP],
            ..Filter::default()
        };
        let sctp_port = Filter {
            protocols: vec![IPPROTO_SCTP],
            orig_dport: Some(80),
            ..Filter::default()
        };
        // The kernel takes a GRE tuple's ports in a filter and compares none of them: a
        // flush by key would delete every GRE entry.
        let gre_key = Filter {
            family: Some(AF_INET),
            protocols: vec![IPPROTO_GRE],
            orig_key_src: Some(0x10),
            ..Filter::default()
        };
        let reply_key = Filter {
            reply_key_dst: Some(0x10),
            ..Filter::default()
        };
        for filter in [
            v6,
            prefix,
            zone,
            two_protocols,
            sctp_port,
            gre_key,
            reply_key,
        ] {
            assert!(requests(&filter, NOW).is_none(), "{filter:?}");
        }
    }

    /// Every field of the filter in turn, each alone with a value the kernel matches
    /// exactly if it can: the one request is built only for the family, one protocol,
    /// exact IPv4 addresses with their family, TCP/UDP ports with their protocol, the
    /// mark and the status; every other field is refused. `all` names every field (a
    /// struct literal without `..`), and the fields set one by one must add up to it, so
    /// a field added to `Filter` fails this test until it has its verdict here.
    #[test]
    fn every_filter_field_is_refused_unless_the_kernel_matches_it_exactly() {
        let v4 = |text: &str| Some(AddrMatch::exact(text.parse().unwrap()));
        let all = Filter {
            family: Some(AF_INET),
            protocols: vec![IPPROTO_TCP],
            orig_src: v4("10.0.0.1"),
            orig_dst: v4("10.0.0.2"),
            reply_src: v4("10.0.0.2"),
            reply_dst: v4("10.0.0.1"),
            any_addr: v4("10.0.0.3"),
            orig_sport: Some(1),
            orig_dport: Some(2),
            reply_sport: Some(2),
            reply_dport: Some(1),
            any_port: Some(3),
            orig_key_src: Some(0x10),
            orig_key_dst: Some(0x20),
            reply_key_src: Some(0x20),
            reply_key_dst: Some(0x10),
            icmp_type: Some(8),
            icmp_code: Some(0),
            icmp_id: Some(7),
            states: vec![crate::model::entry::ProtoState::Tcp(3)],
            mark: Some(MarkMatch { value: 1, mask: 1 }),
            zone: Some(1),
            orig_zone: Some(1),
            reply_zone: Some(1),
            status: Some(StatusMatch {
                set: 1 << IPS_ASSURED_BIT,
                clear: 0,
            }),
            src_nat: Some(crate::filter::NatMatch {
                addr: None,
                port: None,
            }),
            dst_nat: Some(crate::filter::NatMatch {
                addr: None,
                port: None,
            }),
            any_nat: Some(crate::filter::NatMatch {
                addr: None,
                port: None,
            }),
            labels: vec![1],
            helper: Some("ftp".into()),
            id: Some(7),
        };
        type Set = fn(&mut Filter, &Filter);
        // (field, copy it from `all`, whether one request may carry it alone). A port
        // goes with its protocol and an address with its family, as the plan sets them.
        let fields: &[(&str, Set, bool)] = &[
            ("family", |f, a| f.family = a.family, true),
            ("protocols", |f, a| f.protocols = a.protocols.clone(), true),
            ("orig_src", |f, a| f.orig_src = a.orig_src, false),
            ("orig_dst", |f, a| f.orig_dst = a.orig_dst, false),
            ("reply_src", |f, a| f.reply_src = a.reply_src, false),
            ("reply_dst", |f, a| f.reply_dst = a.reply_dst, false),
            ("any_addr", |f, a| f.any_addr = a.any_addr, false),
            ("orig_sport", |f, a| f.orig_sport = a.orig_sport, false),
            ("orig_dport", |f, a| f.orig_dport = a.orig_dport, false),
            ("reply_sport", |f, a| f.reply_sport = a.reply_sport, false),
            ("reply_dport", |f, a| f.reply_dport = a.reply_dport, false),
            ("any_port", |f, a| f.any_port = a.any_port, false),
            (
                "orig_key_src",
                |f, a| f.orig_key_src = a.orig_key_src,
                false,
            ),
            (
                "orig_key_dst",
                |f, a| f.orig_key_dst = a.orig_key_dst,
                false,
            ),
            (
                "reply_key_src",
                |f, a| f.reply_key_src = a.reply_key_src,
                false,
            ),
            (
                "reply_key_dst",
                |f, a| f.reply_key_dst = a.reply_key_dst,
                false,
            ),
            ("icmp_type", |f, a| f.icmp_type = a.icmp_type, false),
            ("icmp_code", |f, a| f.icmp_code = a.icmp_code, false),
            ("icmp_id", |f, a| f.icmp_id = a.icmp_id, false),
            ("states", |f, a| f.states = a.states.clone(), false),
            ("mark", |f, a| f.mark = a.mark, true),
            ("zone", |f, a| f.zone = a.zone, false),
            ("orig_zone", |f, a| f.orig_zone = a.orig_zone, false),
            ("reply_zone", |f, a| f.reply_zone = a.reply_zone, false),
            ("status", |f, a| f.status = a.status, true),
            ("src_nat", |f, a| f.src_nat = a.src_nat, false),
            ("dst_nat", |f, a| f.dst_nat = a.dst_nat, false),
            ("any_nat", |f, a| f.any_nat = a.any_nat, false),
            ("labels", |f, a| f.labels = a.labels.clone(), false),
            ("helper", |f, a| f.helper = a.helper.clone(), false),
            ("id", |f, a| f.id = a.id, false),
        ];
        let mut union = Filter::default();
        for (name, set, alone) in fields {
            set(&mut union, &all);
            let mut filter = Filter::default();
            set(&mut filter, &all);
            assert_eq!(requests(&filter, NOW).is_some(), *alone, "{name} alone");
        }
        assert_eq!(union, all, "a field of Filter has no verdict in this test");
        // With the family and protocol the plan gives them, exact IPv4 addresses and TCP
        // ports are carried; the rest stay refused whatever goes with them.
        let with_context = |name: &str| {
            let mut filter = Filter {
                family: Some(AF_INET),
                protocols: vec![IPPROTO_TCP],
                ..Filter::default()
            };
            let (_, set, _) = fields.iter().find(|(n, _, _)| *n == name).unwrap();
            set(&mut filter, &all);
            requests(&filter, NOW).is_some()
        };
        for (name, _, _) in fields {
            let carried = matches!(
                *name,
                "family"
                    | "protocols"
                    | "orig_src"
                    | "orig_dst"
                    | "reply_src"
                    | "reply_dst"
                    | "orig_sport"
                    | "orig_dport"
                    | "reply_sport"
                    | "reply_dport"
                    | "mark"
                    | "status"
            );
            assert_eq!(with_context(name), carried, "{name} with ipv4 and tcp");
        }
    }

    #[test]
    fn a_protocol_without_a_family_is_one_flush_per_family() {
        let udp = Filter {
            protocols: vec![IPPROTO_UDP],
            orig_dport: Some(53),
            ..Filter::default()
        };
        let sent = requests(&udp, NOW).unwrap();
        let families: Vec<u8> = sent.iter().map(|r| r.family).collect();
        assert_eq!(families, [AF_INET, AF_INET6]);
        assert!(sent.iter().all(|r| r.version == NFNETLINK_V1));
        let everything = requests(&Filter::default(), NOW).unwrap();
        assert_eq!(everything.len(), 1);
        assert_eq!(
            (everything[0].family, everything[0].version),
            (AF_UNSPEC, NFNETLINK_V0)
        );
        assert!(everything[0].attributes.is_empty());
    }
}
