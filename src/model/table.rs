//! Which of the kernel's tables a command reads: the connections, the expectations, or
//! one of the two lists of entries outside the table. Defined once; the command line
//! parses into it (`cli::tables`) and every layer below takes it.

/// A table of the kernel's connection tracking, by conntrack's name for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Table {
    /// The connections.
    #[default]
    Conntrack,
    /// The expectations: connections a helper (ftp, tftp, sip...) announced.
    Expect,
    /// Entries being destroyed, not yet freed.
    Dying,
    /// Entries not yet confirmed (their first packet is still in flight).
    Unconfirmed,
}

impl Table {
    pub const ALL: [Table; 4] = [
        Table::Conntrack,
        Table::Expect,
        Table::Dying,
        Table::Unconfirmed,
    ];

    /// conntrack's name: `conntrack`, `expect`, `dying`, `unconfirmed`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Conntrack => "conntrack",
            Table::Expect => "expect",
            Table::Dying => "dying",
            Table::Unconfirmed => "unconfirmed",
        }
    }

    /// The table `name` names, as [`Table::name`] writes it.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|table| table.name() == name)
    }

    /// Whether it holds expectations rather than entries: what reads it, what prints
    /// it, which events and counters are its own.
    pub fn holds_expectations(self) -> bool {
        self == Table::Expect
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_found_by_its_name() {
        for table in Table::ALL {
            assert_eq!(Table::from_name(table.name()), Some(table));
        }
        assert_eq!(Table::from_name("expectations"), None);
        assert_eq!(Table::from_name("Conntrack"), None);
    }
}
