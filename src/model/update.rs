//! What `ct update` changes on each entry it selects: the new values, as the kernel
//! applies them to an existing entry (ctnetlink_change_conntrack).

use super::entry::{Entry, LabelBits};

/// The changes of one update, each optional; at least one is given (the plan checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes {
    /// `--set-mark VALUE[/MASK]`: the bits of MASK become those of VALUE (every bit
    /// without a mask). VALUE has no bit outside MASK, so the kernel's
    /// `(mark & ~MASK) ^ VALUE` is that.
    pub mark: Option<MarkChange>,
    /// `--add-label`, `--del-label`: label bits set and cleared.
    pub labels: Option<LabelChange>,
    /// `--set-timeout`: seconds before the entry expires.
    pub timeout: Option<u32>,
    /// `--set-status`: IPS_* bits to set; only those the kernel lets a user set
    /// ([`SETTABLE_STATUS`]).
    pub status: u32,
}

impl Changes {
    /// Whether every change would leave `entry` as it is (conntrack -U's test before it
    /// sends an update): the mark and the labels the same after the change, the status
    /// bits already set, the timeout already the one given. A label change is one for
    /// every entry with labels (conntrack compares its label bitmap, sized by the label
    /// map, with the kernel's, and never finds them equal), and for an entry without
    /// labels (the kernel sends none while no bit is set) only when it adds some.
    pub fn leaves_alone(&self, entry: &Entry<'_>) -> bool {
        let mark = self.mark.is_none_or(|change| {
            let old = entry.mark.unwrap_or(0);
            change.apply(old) == old
        });
        let labels = self.labels.is_none_or(|change| match entry.labels {
            Some(_) => false,
            None => change.add == 0,
        });
        let timeout = self.timeout.is_none_or(|t| entry.timeout == Some(t));
        let status = self.status & !entry.status.map_or(0, |status| status.0) == 0;
        mark && labels && timeout && status
    }
}

/// A new mark for the bits of `mask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkChange {
    pub value: u32,
    pub mask: u32,
}

impl MarkChange {
    /// The mark an entry marked `old` gets: the kernel's arithmetic.
    pub fn apply(self, old: u32) -> u32 {
        (old & !self.mask) ^ self.value
    }
}

/// Label bits to add and to delete (never both for one bit: the plan checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LabelChange {
    pub add: u128,
    pub delete: u128,
}

impl LabelChange {
    /// CTA_LABELS: the new values of the bits CTA_LABELS_MASK names.
    pub fn values(self) -> LabelBits {
        LabelBits::from_u128(self.add)
    }

    /// CTA_LABELS_MASK: every bit that changes.
    pub fn mask(self) -> LabelBits {
        LabelBits::from_u128(self.add | self.delete)
    }

    /// The labels an entry labelled `old` gets.
    pub fn apply(self, old: u128) -> u128 {
        (old | self.add) & !self.delete
    }
}

/// The status bits a user may set on an existing entry (nf_ct_change_status_common):
/// the kernel keeps the others (IPS_UNCHANGEABLE_MASK) to itself, refuses to clear
/// SEEN_REPLY and ASSURED (EBUSY), and only ever sets bits.
pub const SETTABLE_STATUS: [u32; 3] = [
    crate::kernel::IPS_SEEN_REPLY_BIT,
    crate::kernel::IPS_ASSURED_BIT,
    crate::kernel::IPS_FIXED_TIMEOUT_BIT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_takes_the_masked_bits_of_the_value() {
        let change = MarkChange {
            value: 0x20,
            mask: 0xf0,
        };
        assert_eq!(change.apply(0x1234_5f5f), 0x1234_5f2f);
        let whole = MarkChange {
            value: 7,
            mask: u32::MAX,
        };
        assert_eq!(whole.apply(0xffff_ffff), 7);
    }

    #[test]
    fn an_entry_already_as_asked_is_left_alone() {
        let mut entry = crate::model::entry::tcp_entry("10.0.0.1", "10.0.0.2", 1000, 80);
        entry.mark = Some(42);
        entry.status = Some(crate::model::entry::Status(0b1010));
        let mark = |value, mask| Changes {
            mark: Some(MarkChange { value, mask }),
            ..Changes::default()
        };
        assert!(mark(42, u32::MAX).leaves_alone(&entry));
        assert!(!mark(43, u32::MAX).leaves_alone(&entry));
        assert!(mark(0, 0).leaves_alone(&entry));
        assert!(!mark(1, 0).leaves_alone(&entry));
        let status = |status| Changes {
            status,
            ..Changes::default()
        };
        assert!(status(0b1000).leaves_alone(&entry));
        assert!(!status(0b0100).leaves_alone(&entry));
        let labels = |add, delete| Changes {
            labels: Some(LabelChange { add, delete }),
            ..Changes::default()
        };
        assert!(labels(0, 1).leaves_alone(&entry));
        assert!(!labels(1, 0).leaves_alone(&entry));
        let bits = [1u8; 16];
        entry.labels = Some(crate::model::entry::Labels(&bits));
        assert!(!labels(0, 2).leaves_alone(&entry));
        let timeout = Changes {
            timeout: Some(30),
            ..Changes::default()
        };
        assert!(!timeout.leaves_alone(&entry));
        entry.timeout = Some(30);
        assert!(timeout.leaves_alone(&entry));
    }

    #[test]
    fn labels_are_added_and_deleted_through_one_mask() {
        let change = LabelChange {
            add: 0b0001,
            delete: 0b0100,
        };
        assert_eq!(change.apply(0b0110), 0b0011);
        assert_eq!(change.mask().labels().as_u128(), 0b0101);
        assert_eq!(change.values().labels().as_u128(), 0b0001);
    }
}
