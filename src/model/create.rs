//! A new entry: what `ct create` and `ct restore` ask the kernel to make, as conntrack
//! -I makes it, and what the kernel answered.

use std::net::IpAddr;

use crate::kernel::*;
use crate::model::entry::{DccpRole, Entry, Family, L4, LabelBits, ProtoState, TcpFlags, Tuple};
use crate::output::save::read::NamedNat;

/// What an entry to create gives its tracker besides the tuple: a state, SCTP's two
/// verification tags, DCCP's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrackerExtras {
    pub state: bool,
    pub orig_vtag: bool,
    pub reply_vtag: bool,
    pub role: bool,
}

impl TrackerExtras {
    /// The extras `entry` gives.
    pub fn of(entry: &NewEntry) -> TrackerExtras {
        TrackerExtras {
            state: entry.state.is_some(),
            orig_vtag: entry.sctp_vtag_original.is_some(),
            reply_vtag: entry.sctp_vtag_reply.is_some(),
            role: entry.dccp_role.is_some(),
        }
    }

    /// Each extra only for its protocol, and given together as the kernel's trackers
    /// take them (conntrack -I and -R demand the same): nlattr_to_sctp wants the state
    /// and both tags, nlattr_to_dccp the state and the role, and either answers EINVAL
    /// otherwise; without the state a tag or role would not be sent at all. The error
    /// names the flags, for `ct create` and for a saved line alike.
    pub fn check(self, protonum: u8) -> Result<(), String> {
        use crate::model::entry::protocol_text;
        for (given, flag, of) in [
            (self.orig_vtag, "--orig-vtag", IPPROTO_SCTP),
            (self.reply_vtag, "--reply-vtag", IPPROTO_SCTP),
            (self.role, "--role", IPPROTO_DCCP),
        ] {
            if given && protonum != of {
                return Err(format!(
                    "{flag} is for -p {}, not {}",
                    protocol_text(of),
                    protocol_text(protonum)
                ));
            }
        }
        let TrackerExtras {
            state,
            orig_vtag,
            reply_vtag,
            role,
        } = self;
        if protonum == IPPROTO_SCTP && !(state == orig_vtag && state == reply_vtag) {
            return Err(
                "-p sctp takes --state, --orig-vtag and --reply-vtag together: the \
                        kernel sets an SCTP entry's state only with both verification tags"
                    .to_string(),
            );
        }
        if protonum == IPPROTO_DCCP && state != role {
            return Err(
                "-p dccp takes --state and --role together, as conntrack -I does: \
                        a kernel that tracks DCCP sets the state only with the role"
                    .to_string(),
            );
        }
        Ok(())
    }
}

/// An entry to create: both tuples, the timeout it lives for, and what conntrack -I can
/// set besides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEntry {
    pub family: Family,
    /// The original tuple; its `zone` is the original direction's own (--orig-zone).
    pub original: Tuple,
    /// The reply tuple: the original turned around ([`Tuple::reversed`]) unless given.
    /// NAT changes it in the kernel, as the first packet through a NAT rule would.
    pub reply: Tuple,
    /// Seconds the entry lives (CTA_TIMEOUT, which the kernel requires).
    pub timeout: u32,
    /// IPS_* bits to set (CTA_STATUS).
    pub status: Option<u32>,
    pub mark: Option<u32>,
    /// The connlabels (CTA_LABELS). The kernel attaches them only where something in the
    /// namespace uses labels, and says nothing when it does not, as with conntrack -I.
    pub labels: Option<LabelBits>,
    /// The entry's zone (CTA_ZONE).
    pub zone: Option<u16>,
    /// Source NAT (CTA_NAT_SRC): the reply's destination becomes this.
    pub source_nat: Option<NatTarget>,
    /// Destination NAT (CTA_NAT_DST): the reply's source becomes this.
    pub destination_nat: Option<NatTarget>,
    /// The tracker's state (CTA_PROTOINFO); TCP gets the flags conntrack -I sets too
    /// ([`NewEntry::tcp_flags`]).
    pub state: Option<ProtoState>,
    /// SCTP: each direction's verification tag, as the kernel keeps it (and `ct list -o
    /// json` shows it), sent in CTA_PROTOINFO_SCTP with the state: the kernel's SCTP
    /// tracker takes its state only with both tags (nlattr_to_sctp: EINVAL otherwise).
    pub sctp_vtag_original: Option<u32>,
    pub sctp_vtag_reply: Option<u32>,
    /// DCCP: the role of the original direction's sender, sent in CTA_PROTOINFO_DCCP
    /// with the state, which a kernel that tracks DCCP takes only with it.
    pub dccp_role: Option<DccpRole>,
    /// The conntrack helper to attach (CTA_HELP), e.g. `ftp`: what lets an expectation
    /// be created on the entry. conntrack -I cannot set it.
    pub helper: Option<HelperName>,
}

/// A conntrack helper's name as the kernel keeps it (NF_CT_HELPER_NAME_LEN, 16 bytes
/// with the closing NUL): at most 15 bytes, none of them NUL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelperName {
    bytes: [u8; 15],
    len: u8,
}

impl HelperName {
    /// The name, or why the kernel could not know a helper by it.
    pub fn new(name: &str) -> Result<HelperName, String> {
        let raw = name.as_bytes();
        if raw.is_empty() || raw.len() > 15 || raw.contains(&0) {
            return Err(format!(
                "'{name}' is no helper name: a helper's name (ftp, tftp, sip...) has 1 to \
                 15 bytes"
            ));
        }
        let mut bytes = [0; 15];
        bytes[..raw.len()].copy_from_slice(raw);
        Ok(HelperName {
            bytes,
            len: raw.len() as u8,
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Where NAT maps one side of a connection: an address, and a port where given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NatTarget {
    pub address: IpAddr,
    pub port: Option<u16>,
}

/// What a creation does with an entry of the same tuple that exists already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// It is an error (conntrack -I).
    Fail,
    /// It is kept as it is, and that is no error (conntrack -A, `--exist-ok`).
    Keep,
}

/// What the kernel answered one creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    Created,
    /// EEXIST: an entry with this tuple was there; it is left as it was.
    Existed,
    /// Any other errno: the kernel refused.
    Refused(i32),
}

impl Creation {
    pub fn of_errno(errno: i32) -> Creation {
        match errno {
            0 => Creation::Created,
            libc::EEXIST => Creation::Existed,
            errno => Creation::Refused(errno),
        }
    }

    /// Whether this answer fails a creation made with `existing`.
    pub fn failed(self, existing: Existing) -> bool {
        match self {
            Creation::Created => false,
            Creation::Existed => existing == Existing::Fail,
            Creation::Refused(_) => true,
        }
    }

    /// Why the kernel would not create the entry, in words for people; None when it did
    /// (or kept an existing one as asked).
    pub fn reason(self, existing: Existing) -> Option<String> {
        let errno = match self {
            Creation::Created => return None,
            Creation::Existed if existing == Existing::Keep => return None,
            Creation::Existed => {
                return Some(
                    "such an entry exists; use --exist-ok to keep it, or ct update to \
                     change it"
                        .into(),
                );
            }
            Creation::Refused(errno) => errno,
        };
        let os = std::io::Error::from_raw_os_error(errno);
        Some(match errno {
            libc::EINVAL => format!(
                "the kernel refused the entry as invalid ({os}); it wants a reply tuple \
                 that is the original turned around (NAT goes in --src-nat and \
                 --dst-nat), the same zone in both directions, and status flags a new \
                 entry may have"
            ),
            libc::EPERM | libc::EACCES => format!(
                "permission denied changing the conntrack table ({os}); run as root or \
                 with CAP_NET_ADMIN"
            ),
            libc::ETIME => format!("the entry expired as it was made ({os})"),
            libc::EOPNOTSUPP => format!(
                "the kernel does not support this entry ({os}): its family or protocol, \
                 NAT without nf_nat, or a --helper of no loaded helper module (of this \
                 name, family and protocol)"
            ),
            libc::EBUSY => {
                format!("the kernel refused a status flag it does not let a user set ({os})")
            }
            libc::ENOMEM | libc::ENOSPC => {
                format!("the kernel had no room for the entry ({os}); is the table full?")
            }
            _ => format!("the kernel refused the entry: {os}"),
        })
    }
}

impl NewEntry {
    /// An entry of `original` and its reversal, living `timeout` seconds, with nothing
    /// else set.
    pub fn new(original: Tuple, timeout: u32) -> NewEntry {
        let family = original.src.map_or(Family::Ipv4, Family::of);
        NewEntry {
            family,
            original,
            reply: original.reversed(),
            timeout,
            status: None,
            mark: None,
            labels: None,
            zone: None,
            source_nat: None,
            destination_nat: None,
            state: None,
            sctp_vtag_original: None,
            sctp_vtag_reply: None,
            dccp_role: None,
            helper: None,
        }
    }

    /// The entry a saved line (`-o save`, read by [`crate::output::save::read`]) makes
    /// again, as conntrack -R makes it: where the line names the reply's source as
    /// destination NAT (`-g`) or its destination as source NAT (`-n`), that is NAT to it
    /// (with the port, where the reply's changed too) on the original turned around,
    /// which the kernel then rewrites; otherwise the reply tuple is the line's (`-r`,
    /// `-q`). A line without a timeout gets none: the kernel refuses it, and says so for
    /// that line.
    pub fn from_saved(entry: &Entry<'_>, named: NamedNat) -> NewEntry {
        let (original, reply) = (entry.original, entry.reply);
        let reversed = original.reversed();
        let port_change = |now: Option<u16>, before: Option<u16>| match (now, before) {
            (Some(now), Some(before)) if now != before => Some(now),
            _ => None,
        };
        let ports = |tuple: &Tuple| match tuple.l4 {
            L4::Ports { sport, dport } => (Some(sport), Some(dport)),
            _ => (None, None),
        };
        let (reply_sport, reply_dport) = ports(&reply);
        let (reversed_sport, reversed_dport) = ports(&reversed);
        let nat = |named: bool, now: Option<IpAddr>, port: Option<u16>| match now {
            Some(address) if named => Some(NatTarget { address, port }),
            _ => None,
        };
        let destination_nat = nat(
            named.destination,
            reply.src,
            port_change(reply_sport, reversed_sport),
        );
        let source_nat = nat(
            named.source,
            reply.dst,
            port_change(reply_dport, reversed_dport),
        );
        let reply = match (destination_nat, source_nat) {
            (None, None) => reply,
            _ => Tuple {
                zone: reply.zone,
                ..reversed
            },
        };
        // The NAT bits are the kernel's to set when it sets up NAT.
        let nat_bits = 1 << IPS_SRC_NAT_BIT
            | 1 << IPS_SRC_NAT_DONE_BIT
            | 1 << IPS_DST_NAT_BIT
            | 1 << IPS_DST_NAT_DONE_BIT;
        let labels = entry
            .labels
            .map(|labels| LabelBits::from_u128(labels.as_u128()));
        NewEntry {
            family: entry.family,
            original,
            reply,
            timeout: entry.timeout.unwrap_or(0),
            status: entry.status.map(|status| status.0 & !nat_bits),
            mark: entry.mark,
            labels,
            zone: entry.zone,
            source_nat,
            destination_nat,
            state: entry.state,
            sctp_vtag_original: entry.sctp_vtag_original,
            sctp_vtag_reply: entry.sctp_vtag_reply,
            dccp_role: entry.dccp_role,
            helper: None,
        }
    }

    /// The TCP tracker flags conntrack -I sets on both directions (tcp.c's final_check):
    /// be liberal and SACK permitted, and close-init from TIME_WAIT on; the mask is the
    /// flags.
    pub fn tcp_flags(&self) -> Option<TcpFlags> {
        let Some(ProtoState::Tcp(state)) = self.state else {
            return None;
        };
        let mut flags = IP_CT_TCP_FLAG_BE_LIBERAL | IP_CT_TCP_FLAG_SACK_PERM;
        if state >= TCP_CONNTRACK_TIME_WAIT {
            flags |= IP_CT_TCP_FLAG_CLOSE_INIT;
        }
        Some(TcpFlags { flags, mask: flags })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::save::read::parse_saved;

    #[test]
    fn a_saved_nat_line_becomes_nat_on_the_reversed_tuple() {
        let (entry, named) = parse_saved(
            "-A -t 49 -u SEEN_REPLY -s 1.1.1.1 -d 2.2.2.2 -g 3.3.3.3 -q 1.1.1.1 -p tcp \
             --sport 10 --dport 20 --reply-port-src 80 --reply-port-dst 10 --state ESTABLISHED",
        )
        .unwrap();
        let new = NewEntry::from_saved(&entry, named);
        assert_eq!(new.reply, entry.original.reversed());
        assert_eq!(
            new.destination_nat,
            Some(NatTarget {
                address: "3.3.3.3".parse().unwrap(),
                port: Some(80)
            })
        );
        assert_eq!(new.source_nat, None);
        assert_eq!(
            new.status,
            Some(1 << IPS_SEEN_REPLY_BIT | 1 << IPS_CONFIRMED_BIT)
        );
        assert_eq!(new.timeout, 49);
        assert_eq!(new.state, Some(ProtoState::Tcp(3)));
        assert_eq!(
            new.tcp_flags(),
            Some(TcpFlags {
                flags: 0x0a,
                mask: 0x0a
            })
        );
    }

    #[test]
    fn a_saved_source_nat_line_without_port_change() {
        let (entry, named) = parse_saved(
            "-A -t 49 -u UNSET -w 3 -s 1.1.1.2 -d 2.2.2.2 -r 2.2.2.2 -n 5.5.5.5 -p udp \
             --sport 10 --dport 20 --reply-port-src 20 --reply-port-dst 10",
        )
        .unwrap();
        let new = NewEntry::from_saved(&entry, named);
        assert_eq!(
            new.source_nat,
            Some(NatTarget {
                address: "5.5.5.5".parse().unwrap(),
                port: None
            })
        );
        assert_eq!(new.destination_nat, None);
        assert_eq!(new.zone, Some(3));
        assert_eq!(new.status, Some(1 << IPS_CONFIRMED_BIT));
    }

    #[test]
    fn a_saved_reply_tuple_is_sent_as_it_is() {
        let (entry, named) = parse_saved(
            "-A -t 30 -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.9 -q 10.0.0.1 -p udp --sport 5000 \
             --dport 53 --reply-port-src 5353 --reply-port-dst 5000",
        )
        .unwrap();
        assert_eq!(named, NamedNat::default());
        let new = NewEntry::from_saved(&entry, named);
        assert_eq!(new.reply, entry.reply);
        assert_eq!((new.source_nat, new.destination_nat), (None, None));
    }

    #[test]
    fn time_wait_adds_close_init() {
        let tuple = Tuple {
            src: Some("1.1.1.1".parse().unwrap()),
            dst: Some("2.2.2.2".parse().unwrap()),
            protonum: IPPROTO_TCP,
            l4: L4::Ports { sport: 1, dport: 2 },
            zone: None,
        };
        let mut new = NewEntry::new(tuple, 10);
        new.state = Some(ProtoState::Tcp(TCP_CONNTRACK_TIME_WAIT));
        assert_eq!(new.tcp_flags().map(|f| f.flags), Some(0x0e));
        new.state = None;
        assert_eq!(new.tcp_flags(), None);
    }
}
