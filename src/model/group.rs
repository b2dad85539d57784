//! Entries grouped by what they have in common, for `ct top`: who fills the table.
//!
//! A group is named by a key: one value per field the user grouped by (`--by
//! src,proto`). Keys are small `Copy` values, so an entry is grouped by filling a
//! reusable key buffer and looking it up; only a group seen for the first time
//! allocates. Memory grows with the number of groups, never with the table.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use super::entry::{Entry, Family, Labels};
use crate::kernel::{IPS_NAMES, NF_CT_HELPER_NAME_LEN};

/// One field entries can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyField {
    Family,
    Proto,
    State,
    /// The original source address, or with a prefix the network it lies in.
    Src(Prefix),
    /// The original destination address, or its network.
    Dst(Prefix),
    Sport,
    Dport,
    Zone,
    Mark,
    /// The addresses NAT rewrote the connection to.
    Nat,
    Helper,
    /// The set of connlabels.
    Label,
    /// Whether one IPS_* status bit is set.
    Flag(u32),
    /// The network namespace the entry is in (`--all-netns`).
    Netns,
}

/// The prefix lengths an address is cut to: one for IPv4, one for IPv6, since one
/// length rarely suits both (`src/24` means /24 of IPv4 and of IPv6 alike unless the
/// user gives both, as `src/24/64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub ipv4: u8,
    pub ipv6: u8,
}

impl Prefix {
    /// The whole address.
    pub const FULL: Prefix = Prefix {
        ipv4: 32,
        ipv6: 128,
    };

    fn is_full(self) -> bool {
        self == Prefix::FULL
    }

    /// `address` with the bits past the prefix cleared, and the length used.
    fn network(self, address: IpAddr) -> (IpAddr, u8) {
        match address {
            IpAddr::V4(v4) => {
                let bits = u32::from(v4) & mask_u32(self.ipv4);
                (IpAddr::V4(bits.into()), self.ipv4)
            }
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & mask_u128(self.ipv6);
                (IpAddr::V6(bits.into()), self.ipv6)
            }
        }
    }
}

fn mask_u32(length: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(length.min(32)))
        .unwrap_or(0)
}

fn mask_u128(length: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(length.min(128)))
        .unwrap_or(0)
}

/// The names `--by` takes, for help texts and errors.
pub const KEY_NAMES: &str = "src, dst, sport, dport, proto, state, zone, mark, nat, helper, \
     label, family, netns (with --all-netns), flag:NAME (a status flag such as flag:ASSURED), src/LEN and dst/LEN \
     (a prefix, or src/LEN4/LEN6 for each family)";

impl KeyField {
    /// Reads one `--by` word: `src`, `dst/24`, `src/24/64`, `flag:ASSURED`...
    pub fn parse(word: &str) -> Result<KeyField, String> {
        let lower = word.to_ascii_lowercase();
        if let Some(flag) = lower.strip_prefix("flag:") {
            return IPS_NAMES
                .iter()
                .find(|(_, name)| name.eq_ignore_ascii_case(flag))
                .map(|(bit, _)| KeyField::Flag(*bit))
                .ok_or_else(|| {
                    let names: Vec<&str> = IPS_NAMES.iter().map(|(_, name)| *name).collect();
                    format!(
                        "unknown status flag '{flag}' in '{word}'; use one of {}",
                        names.join(", ")
                    )
                });
        }
        let (name, prefix) = match lower.split_once('/') {
            Some((name, lengths)) => (name, Some(parse_prefix(word, lengths)?)),
            None => (lower.as_str(), None),
        };
        let field = match (name, prefix) {
            ("src", prefix) => KeyField::Src(prefix.unwrap_or(Prefix::FULL)),
            ("dst", prefix) => KeyField::Dst(prefix.unwrap_or(Prefix::FULL)),
            (_, Some(_)) => {
                return Err(format!("'{word}': only src and dst take a prefix length"));
            }
            ("family", None) => KeyField::Family,
            ("proto", None) => KeyField::Proto,
            ("state", None) => KeyField::State,
            ("sport", None) => KeyField::Sport,
            ("dport", None) => KeyField::Dport,
            ("zone", None) => KeyField::Zone,
            ("mark", None) => KeyField::Mark,
            ("nat", None) => KeyField::Nat,
            ("helper", None) => KeyField::Helper,
            ("label" | "labels", None) => KeyField::Label,
            ("netns", None) => KeyField::Netns,
            _ => return Err(format!("unknown key '{word}'; use {KEY_NAMES}")),
        };
        Ok(field)
    }

    /// The field's name as a column heading or JSON key: `src`, `src/24`, `ASSURED`.
    pub fn name(self) -> String {
        let named = |base: &str, prefix: Prefix| match prefix {
            p if p.is_full() => base.to_string(),
            Prefix { ipv4, ipv6 } if u16::from(ipv4) == u16::from(ipv6) => {
                format!("{base}/{ipv4}")
            }
            Prefix { ipv4, ipv6 } => format!("{base}/{ipv4}/{ipv6}"),
        };
        match self {
            KeyField::Family => "family".into(),
            KeyField::Proto => "proto".into(),
            KeyField::State => "state".into(),
            KeyField::Src(prefix) => named("src", prefix),
            KeyField::Dst(prefix) => named("dst", prefix),
            KeyField::Sport => "sport".into(),
            KeyField::Dport => "dport".into(),
            KeyField::Zone => "zone".into(),
            KeyField::Mark => "mark".into(),
            KeyField::Nat => "nat".into(),
            KeyField::Helper => "helper".into(),
            KeyField::Label => "label".into(),
            KeyField::Netns => "netns".into(),
            KeyField::Flag(bit) => flag_name(bit).map_or_else(|| format!("bit{bit}"), String::from),
        }
    }

    /// This field's value in `entry`, which is in the namespace `netns` (its label;
    /// empty when ct reads one namespace).
    pub fn value(self, entry: &Entry<'_>, netns: &'static str) -> KeyValue {
        let original = &entry.original;
        match self {
            KeyField::Family => KeyValue::Family(entry.family.raw()),
            KeyField::Proto => KeyValue::Proto(entry.protonum()),
            KeyField::State => KeyValue::State(entry.state.map(|state| state.name())),
            KeyField::Src(prefix) => address_value(original.src, prefix),
            KeyField::Dst(prefix) => address_value(original.dst, prefix),
            KeyField::Sport => KeyValue::Port(original.ports().map(|(sport, _)| sport)),
            KeyField::Dport => KeyValue::Port(original.ports().map(|(_, dport)| dport)),
            KeyField::Zone => KeyValue::Zone(entry.zone.unwrap_or(0)),
            KeyField::Mark => KeyValue::Mark(entry.mark),
            KeyField::Nat => KeyValue::Nat {
                snat: entry.source_nat().and_then(|nat| nat.address),
                dnat: entry.destination_nat().and_then(|nat| nat.address),
            },
            KeyField::Helper => KeyValue::Helper(HelperName::new(entry.helper)),
            KeyField::Label => KeyValue::Labels(entry.labels.map_or(0, Labels::as_u128)),
            KeyField::Flag(bit) => KeyValue::Flag(entry.has_status(bit)),
            KeyField::Netns => KeyValue::Netns(netns),
        }
    }
}

fn address_value(address: Option<IpAddr>, prefix: Prefix) -> KeyValue {
    match address {
        None => KeyValue::Address(None),
        Some(address) if prefix.is_full() => KeyValue::Address(Some(address)),
        Some(address) => {
            let (network, length) = prefix.network(address);
            KeyValue::Network(network, length)
        }
    }
}

/// `24` or `24/64` after `src/`: prefix lengths.
fn parse_prefix(word: &str, lengths: &str) -> Result<Prefix, String> {
    let length = |text: &str, max: u8| -> Result<u8, String> {
        match text.parse::<u8>() {
            Ok(length) if length <= max => Ok(length),
            _ => Err(format!(
                "'{word}': '{text}' is not a prefix length (0 to {max})"
            )),
        }
    };
    match lengths.split_once('/') {
        Some((ipv4, ipv6)) => Ok(Prefix {
            ipv4: length(ipv4, 32)?,
            ipv6: length(ipv6, 128)?,
        }),
        None => {
            let both = length(lengths, 128)?;
            Ok(Prefix {
                ipv4: both.min(32),
                ipv6: both,
            })
        }
    }
}

/// One field's value in a group's key. Small and `Copy`, so that a key is compared and
/// hashed without touching the entry again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyValue {
    /// The family number (AF_INET, AF_INET6).
    Family(u8),
    Proto(u8),
    /// The tracker's state by name (states of different protocols with one name, as
    /// NONE, are one group); `None` for protocols without states.
    State(Option<&'static str>),
    Address(Option<IpAddr>),
    /// An address cut to a prefix, and the prefix's length.
    Network(IpAddr, u8),
    /// `None` for protocols without ports.
    Port(Option<u16>),
    Zone(u16),
    Mark(Option<u32>),
    /// Where source NAT and destination NAT rewrote the connection to, if they did.
    Nat {
        snat: Option<IpAddr>,
        dnat: Option<IpAddr>,
    },
    Helper(HelperName),
    /// The label bits, bit N for label N (the kernel has 128).
    Labels(u128),
    Flag(bool),
    /// A namespace's label, interned ([`intern_netns`]).
    Netns(&'static str),
}

/// A namespace's label as a key value lives as long as the program: each distinct
/// label is kept once, so that keys stay `Copy` and re-reading the namespaces (the
/// live view) allocates nothing new for those already seen.
pub fn intern_netns(label: &str) -> &'static str {
    use std::sync::Mutex;
    static LABELS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut labels = LABELS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = labels.iter().find(|known| **known == label) {
        return known;
    }
    let leaked: &'static str = Box::leak(label.to_string().into_boxed_str());
    labels.push(leaked);
    leaked
}

impl KeyValue {
    /// The family's name, as `-o extended` prints it.
    pub fn family_name(raw: u8) -> &'static str {
        Family::from_raw(raw).name()
    }
}

/// A helper's name, held inline: the kernel's names are at most NF_CT_HELPER_NAME_LEN
/// bytes, so a key needs no allocation. A longer name (from a file) is cut there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HelperName {
    length: u8,
    bytes: [u8; NF_CT_HELPER_NAME_LEN],
}

impl HelperName {
    fn new(name: Option<&[u8]>) -> HelperName {
        let name = name.unwrap_or_default();
        let length = name.len().min(NF_CT_HELPER_NAME_LEN);
        let mut bytes = [0; NF_CT_HELPER_NAME_LEN];
        bytes[..length].copy_from_slice(&name[..length]);
        HelperName {
            length: length as u8,
            bytes,
        }
    }

    /// The name's bytes; empty for an entry without a helper.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.length)]
    }
}

/// What a group holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    pub entries: u64,
    /// Packets and bytes of both directions, summed over the entries that carry
    /// counters (the kernel sends them when net.netfilter.nf_conntrack_acct is on).
    pub packets: u64,
    pub bytes: u64,
    /// Entries not seen in the previous grouping (the live view's rate).
    pub new: u64,
}

impl Totals {
    fn add(&mut self, entry: &Entry<'_>, new: bool) {
        self.entries += 1;
        for counters in [entry.counters_original, entry.counters_reply]
            .into_iter()
            .flatten()
        {
            self.packets = self.packets.saturating_add(counters.packets);
            self.bytes = self.bytes.saturating_add(counters.bytes);
        }
        self.new += u64::from(new);
    }
}

/// How groups are ordered: the largest first, or by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Entries,
    New,
    Packets,
    Bytes,
    Key,
}

impl SortBy {
    /// The order the live view's `s` key steps through.
    pub const CYCLE: [SortBy; 5] = [
        SortBy::Entries,
        SortBy::New,
        SortBy::Packets,
        SortBy::Bytes,
        SortBy::Key,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortBy::Entries => "entries",
            SortBy::New => "new",
            SortBy::Packets => "packets",
            SortBy::Bytes => "bytes",
            SortBy::Key => "key",
        }
    }

    /// The next order in [`SortBy::CYCLE`].
    pub fn next(self) -> SortBy {
        let at = SortBy::CYCLE.iter().position(|s| *s == self).unwrap_or(0);
        SortBy::CYCLE[(at + 1) % SortBy::CYCLE.len()]
    }
}

impl fmt::Display for SortBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The entries of one dump, grouped.
#[derive(Debug)]
pub struct Grouping {
    fields: Vec<KeyField>,
    groups: HashMap<Box<[KeyValue]>, Totals>,
    /// The key of the entry being added, reused entry after entry.
    key: Vec<KeyValue>,
    /// Every entry added, in any group.
    entries: u64,
    /// Whether any entry carried counters (accounting is on).
    accounting: bool,
    /// The namespace of the entries being added (`--all-netns`).
    netns: &'static str,
    /// The ids of the previous grouping's entries, to count new ones; `None` when no
    /// rate is wanted (one-shot) or there is no previous grouping yet.
    previous_ids: Option<HashSet<u32>>,
    /// The ids seen in this grouping, collected only when rates are wanted.
    ids: Option<HashSet<u32>>,
}

/// One group, borrowed from a [`Grouping`].
#[derive(Debug, Clone, Copy)]
pub struct Group<'g> {
    pub key: &'g [KeyValue],
    pub totals: Totals,
}

impl Grouping {
    /// An empty grouping by `fields`.
    pub fn new(fields: Vec<KeyField>) -> Grouping {
        Grouping {
            key: Vec::with_capacity(fields.len()),
            fields,
            groups: HashMap::new(),
            entries: 0,
            accounting: false,
            netns: "",
            previous_ids: None,
            ids: None,
        }
    }

    /// An empty grouping that counts the entries `previous` did not have (by their
    /// kernel id), and remembers its own for the next one. With no previous grouping
    /// nothing counts as new.
    ///
    /// The ids are taken out of `previous`, not copied, while its groups stay: the live
    /// view goes on showing them until this grouping is filled (and still shows them if
    /// filling it fails; the reading after that then has nothing to count against).
    pub fn following(fields: Vec<KeyField>, previous: Option<&mut Grouping>) -> Grouping {
        let mut grouping = Grouping::new(fields);
        grouping.previous_ids = previous.and_then(|previous| previous.ids.take());
        grouping.ids = Some(HashSet::with_capacity(
            grouping.previous_ids.as_ref().map_or(0, HashSet::len),
        ));
        grouping
    }

    pub fn fields(&self) -> &[KeyField] {
        &self.fields
    }

    /// The namespace of the entries added from now on (its interned label).
    pub fn set_netns(&mut self, netns: &'static str) {
        self.netns = netns;
    }

    /// Adds one entry to its group.
    pub fn add(&mut self, entry: &Entry<'_>) {
        self.entries += 1;
        self.accounting |= entry.counters_original.is_some();
        let new = self.is_new(entry);
        self.key.clear();
        self.key.extend(
            self.fields
                .iter()
                .map(|field| field.value(entry, self.netns)),
        );
        match self.groups.get_mut(self.key.as_slice()) {
            Some(totals) => totals.add(entry, new),
            None => {
                let mut totals = Totals::default();
                totals.add(entry, new);
                self.groups.insert(self.key.as_slice().into(), totals);
            }
        }
    }

    fn is_new(&mut self, entry: &Entry<'_>) -> bool {
        let (Some(ids), Some(id)) = (&mut self.ids, entry.id) else {
            return false;
        };
        ids.insert(id);
        self.previous_ids
            .as_ref()
            .is_some_and(|previous| !previous.contains(&id))
    }

    /// True when `entry`, in namespace `netns`, belongs to the group named `key`.
    pub fn belongs(&self, entry: &Entry<'_>, netns: &'static str, key: &[KeyValue]) -> bool {
        self.fields.len() == key.len()
            && self
                .fields
                .iter()
                .zip(key)
                .all(|(field, value)| field.value(entry, netns) == *value)
    }

    /// How many entries were added.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// How many groups there are.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Whether any entry carried packet and byte counters.
    pub fn has_counters(&self) -> bool {
        self.accounting
    }

    /// Whether new entries were counted against a previous grouping.
    pub fn has_rates(&self) -> bool {
        self.previous_ids.is_some()
    }

    /// The first `limit` groups in `order`; ties go by key, so the result is stable.
    pub fn top(&self, order: SortBy, limit: usize) -> Vec<Group<'_>> {
        let mut groups: Vec<Group<'_>> = self
            .groups
            .iter()
            .map(|(key, totals)| Group {
                key,
                totals: *totals,
            })
            .collect();
        let measure = |group: &Group<'_>| match order {
            SortBy::Entries | SortBy::Key => group.totals.entries,
            SortBy::New => group.totals.new,
            SortBy::Packets => group.totals.packets,
            SortBy::Bytes => group.totals.bytes,
        };
        let by_size = |a: &Group<'_>, b: &Group<'_>| {
            measure(b).cmp(&measure(a)).then_with(|| a.key.cmp(b.key))
        };
        if order == SortBy::Key {
            groups.sort_unstable_by(|a, b| a.key.cmp(b.key));
            groups.truncate(limit);
        } else if limit < groups.len() {
            // Only the first `limit` need sorting: partition them out first.
            groups.select_nth_unstable_by(limit, by_size);
            groups.truncate(limit);
            groups.sort_unstable_by(by_size);
        } else {
            groups.sort_unstable_by(by_size);
        }
        groups
    }
}

/// The IPS_* name of a status bit, if it has one.
pub fn flag_name(bit: u32) -> Option<&'static str> {
    IPS_NAMES
        .iter()
        .find(|(known, _)| *known == bit)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::*;
    use crate::model::entry::{Counters, ProtoState, Status, tcp_entry};

    fn tcp(src: &str, dport: u16, state: u8) -> Entry<'static> {
        let mut entry = tcp_entry(src, "10.9.9.9", 40000, dport);
        entry.state = Some(ProtoState::Tcp(state));
        entry.status = Some(Status(1 << IPS_CONFIRMED_BIT));
        entry
    }

    fn fields(words: &str) -> Vec<KeyField> {
        words
            .split(',')
            .map(|w| KeyField::parse(w).unwrap())
            .collect()
    }

    #[test]
    fn keys_parse_with_prefixes_and_flags() {
        assert_eq!(KeyField::parse("SRC"), Ok(KeyField::Src(Prefix::FULL)));
        assert_eq!(
            KeyField::parse("dst/24"),
            Ok(KeyField::Dst(Prefix { ipv4: 24, ipv6: 24 }))
        );
        assert_eq!(
            KeyField::parse("src/64"),
            Ok(KeyField::Src(Prefix { ipv4: 32, ipv6: 64 }))
        );
        assert_eq!(
            KeyField::parse("src/16/48"),
            Ok(KeyField::Src(Prefix { ipv4: 16, ipv6: 48 }))
        );
        assert_eq!(
            KeyField::parse("flag:assured"),
            Ok(KeyField::Flag(IPS_ASSURED_BIT))
        );
        assert_eq!(KeyField::parse("flag:assured").unwrap().name(), "ASSURED");
        assert_eq!(KeyField::parse("src/16/48").unwrap().name(), "src/16/48");
        assert_eq!(KeyField::parse("dst/24").unwrap().name(), "dst/24");
        assert_eq!(
            KeyField::parse("src/33/200"),
            Err("'src/33/200': '33' is not a prefix length (0 to 32)".into())
        );
        assert_eq!(
            KeyField::parse("proto/8"),
            Err("'proto/8': only src and dst take a prefix length".into())
        );
        assert!(
            KeyField::parse("flag:NOPE")
                .unwrap_err()
                .contains("unknown status flag")
        );
        assert!(
            KeyField::parse("colour")
                .unwrap_err()
                .starts_with("unknown key 'colour'")
        );
    }

    #[test]
    fn prefixes_cut_addresses() {
        let prefix = Prefix { ipv4: 24, ipv6: 64 };
        assert_eq!(
            address_value(Some("10.1.2.3".parse().unwrap()), prefix),
            KeyValue::Network("10.1.2.0".parse().unwrap(), 24)
        );
        assert_eq!(
            address_value(Some("fd00:1:2:3:4::5".parse().unwrap()), prefix),
            KeyValue::Network("fd00:1:2:3::".parse().unwrap(), 64)
        );
        let zero = Prefix { ipv4: 0, ipv6: 0 };
        assert_eq!(
            address_value(Some("10.1.2.3".parse().unwrap()), zero),
            KeyValue::Network("0.0.0.0".parse().unwrap(), 0)
        );
    }

    #[test]
    fn groups_count_entries_packets_and_bytes() {
        let mut grouping = Grouping::new(fields("src,state"));
        let mut counted = tcp("10.0.0.1", 80, 3);
        counted.counters_original = Some(Counters {
            packets: 2,
            bytes: 100,
        });
        counted.counters_reply = Some(Counters {
            packets: 1,
            bytes: 60,
        });
        for entry in [
            counted,
            tcp("10.0.0.1", 443, 3),
            tcp("10.0.0.2", 80, 3),
            tcp("10.0.0.1", 80, 7),
        ] {
            grouping.add(&entry);
        }
        assert_eq!(grouping.entries(), 4);
        assert_eq!(grouping.len(), 3);
        assert!(grouping.has_counters());
        let top = grouping.top(SortBy::Entries, 10);
        let first = top[0];
        assert_eq!(
            first.key,
            [
                KeyValue::Address(Some("10.0.0.1".parse().unwrap())),
                KeyValue::State(Some("ESTABLISHED"))
            ]
        );
        assert_eq!(
            first.totals,
            Totals {
                entries: 2,
                packets: 3,
                bytes: 160,
                new: 0
            }
        );
        // Ties (one entry each) go by key: 10.0.0.1 before 10.0.0.2.
        assert_eq!(
            top[1].key[0],
            KeyValue::Address(Some("10.0.0.1".parse().unwrap()))
        );
        assert_eq!(
            top[2].key[0],
            KeyValue::Address(Some("10.0.0.2".parse().unwrap()))
        );
        assert_eq!(grouping.top(SortBy::Entries, 1).len(), 1);
        assert_eq!(grouping.top(SortBy::Bytes, 1)[0].key, first.key);
    }

    #[test]
    fn new_entries_are_counted_against_the_previous_grouping() {
        let with_id = |id, dport| {
            let mut entry = tcp("10.0.0.1", dport, 3);
            entry.id = Some(id);
            entry
        };
        let mut first = Grouping::following(fields("dport"), None);
        first.add(&with_id(1, 80));
        assert!(!first.has_rates());
        assert_eq!(first.top(SortBy::New, 5)[0].totals.new, 0);
        let mut second = Grouping::following(fields("dport"), Some(&mut first));
        for (id, dport) in [(1, 80), (2, 80), (3, 443)] {
            second.add(&with_id(id, dport));
        }
        assert!(second.has_rates());
        let top = second.top(SortBy::New, 5);
        assert_eq!(top.iter().map(|g| g.totals.new).collect::<Vec<_>>(), [1, 1]);
        assert_eq!(top[0].key, [KeyValue::Port(Some(80))]);
    }

    #[test]
    fn membership_follows_the_key() {
        let grouping = Grouping::new(fields("src/24,dport"));
        let entry = tcp("10.0.0.77", 80, 3);
        let key = [
            KeyValue::Network("10.0.0.0".parse().unwrap(), 24),
            KeyValue::Port(Some(80)),
        ];
        assert!(grouping.belongs(&entry, "", &key));
        assert!(!grouping.belongs(&tcp("10.0.1.77", 80, 3), "", &key));
    }

    #[test]
    fn helper_names_are_cut_to_the_kernels_length() {
        let long = HelperName::new(Some(b"a-helper-name-longer-than-sixteen"));
        assert_eq!(long.as_bytes(), b"a-helper-name-lo");
        assert_eq!(HelperName::new(None).as_bytes(), b"");
    }
}
