//! Events: what the kernel multicasts when an entry or an expectation is made, changed
//! or destroyed. The event's kind is not an attribute: it is told by the message type
//! and the NLM_F_CREATE flag, so it is read here from the message header.

use super::table::Table;
use crate::kernel::*;

/// What happened to the entry (or expectation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    New,
    Update,
    Destroy,
}

impl EventKind {
    /// The kind of an event message of either ctnetlink subsystem: `*_NEW` with
    /// NLM_F_CREATE is a new one, without it an update, `*_DELETE` a destruction. The
    /// message types are the same numbers in both subsystems.
    pub fn of_message(message_type: u8, flags: u16) -> Option<EventKind> {
        match message_type {
            IPCTNL_MSG_CT_NEW if flags & NLM_F_CREATE != 0 => Some(EventKind::New),
            IPCTNL_MSG_CT_NEW => Some(EventKind::Update),
            IPCTNL_MSG_CT_DELETE => Some(EventKind::Destroy),
            _ => None,
        }
    }

    /// conntrack's tag, right-aligned in nine columns and followed by a space, as
    /// libnetfilter_conntrack's `"%9s "`.
    pub fn tag(self) -> &'static str {
        match self {
            EventKind::New => "    [NEW] ",
            EventKind::Update => " [UPDATE] ",
            EventKind::Destroy => "[DESTROY] ",
        }
    }

    /// The lower-case name: XML's `<flow type="...">` and JSON's `"event"`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::New => "new",
            EventKind::Update => "update",
            EventKind::Destroy => "destroy",
        }
    }
}

/// Which kinds of event to receive (`-e`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventSet {
    pub new: bool,
    pub update: bool,
    pub destroy: bool,
}

impl EventSet {
    pub const ALL: EventSet = EventSet {
        new: true,
        update: true,
        destroy: true,
    };

    pub fn contains(self, kind: EventKind) -> bool {
        match kind {
            EventKind::New => self.new,
            EventKind::Update => self.update,
            EventKind::Destroy => self.destroy,
        }
    }

    /// The multicast groups that carry these events of `table`: of expectations, or of
    /// entries.
    pub fn groups(self, table: Table) -> Vec<u32> {
        let groups = if table.holds_expectations() {
            [
                NFNLGRP_CONNTRACK_EXP_NEW,
                NFNLGRP_CONNTRACK_EXP_UPDATE,
                NFNLGRP_CONNTRACK_EXP_DESTROY,
            ]
        } else {
            [
                NFNLGRP_CONNTRACK_NEW,
                NFNLGRP_CONNTRACK_UPDATE,
                NFNLGRP_CONNTRACK_DESTROY,
            ]
        };
        [self.new, self.update, self.destroy]
            .into_iter()
            .zip(groups)
            .filter_map(|(wanted, group)| wanted.then_some(group))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_type_and_the_create_flag() {
        let create = NLM_F_CREATE | NLM_F_EXCL;
        assert_eq!(
            EventKind::of_message(IPCTNL_MSG_CT_NEW, create),
            Some(EventKind::New)
        );
        assert_eq!(
            EventKind::of_message(IPCTNL_MSG_CT_NEW, 0),
            Some(EventKind::Update)
        );
        assert_eq!(
            EventKind::of_message(IPCTNL_MSG_CT_DELETE, 0),
            Some(EventKind::Destroy)
        );
        assert_eq!(EventKind::of_message(IPCTNL_MSG_CT_GET, 0), None);
        let tags: Vec<usize> = [EventKind::New, EventKind::Update, EventKind::Destroy]
            .map(|kind| kind.tag().len())
            .to_vec();
        assert_eq!(tags, [10, 10, 10]);
    }

    #[test]
    fn groups_follow_the_set_and_the_table() {
        let destroy_only = EventSet {
            new: false,
            update: false,
            destroy: true,
        };
        assert_eq!(
            destroy_only.groups(Table::Conntrack),
            [NFNLGRP_CONNTRACK_DESTROY]
        );
        assert_eq!(
            destroy_only.groups(Table::Expect),
            [NFNLGRP_CONNTRACK_EXP_DESTROY]
        );
        assert_eq!(EventSet::ALL.groups(Table::Conntrack), [1, 2, 3]);
        assert_eq!(EventSet::ALL.groups(Table::Expect), [4, 5, 6]);
    }
}
