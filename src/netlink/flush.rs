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

use super::Request;
use super::kernel_filter::{mark_attributes, status_attributes, tuple_filter};
use crate::filter::Filter;
use crate::kernel::*;

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

/// The attributes that make a flush of `family` delete exactly what `filter` matches,
/// and what the kernel must honour for that; None when some condition of the filter has
/// no exact kernel form.
fn whole_filter_attributes(
    filter: &Filter,
    family: u8,
) -> Option<(Vec<DefaultNla>, Vec<FlushAttribute>)> {
    let exact_ipv4 = |m: Option<crate::filter::AddrMatch>| {
        m.is_none_or(|m| m.is_exact() && m.is_ipv4() && family == AF_INET)
    };
    let ports_given = filter.orig_sport.is_some()
        || filter.orig_dport.is_some()
        || filter.reply_sport.is_some()
        || filter.reply_dport.is_some();
    let exact = filter.protocols.len() <= 1
        && exact_ipv4(filter.orig_src)
        && exact_ipv4(filter.orig_dst)
        && exact_ipv4(filter.reply_src)
        && exact_ipv4(filter.reply_dst)
        && filter.any_addr.is_none()
        && filter.any_port.is_none()
        && (!ports_given || matches!(filter.protocols[..], [IPPROTO_TCP | IPPROTO_UDP]))
        && filter.icmp_type.is_none()
        && filter.icmp_code.is_none()
        && filter.icmp_id.is_none()
        && !filter.wants_keys()
        && filter.states.is_empty()
        && filter.zone.is_none()
        && filter.orig_zone.is_none()
        && filter.reply_zone.is_none()
        && filter.src_nat.is_none()
        && filter.dst_nat.is_none()
        && filter.any_nat.is_none()
        && filter.labels.is_empty()
        && filter.helper.is_none();
    if !exact {
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
