//! The output configuration a command hands the printers: which format, with every
//! choice the user and the environment made already resolved (`plan` builds it).

use crate::output::classic::ClassicOptions;
use crate::output::table::Column;

/// How entries are printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// conntrack's line.
    Classic(ClassicOptions),
    /// JSON Lines.
    Json,
    /// conntrack's XML; `ktimestamp` adds the `<timestamp>` element.
    Xml { ktimestamp: bool },
    /// The aligned table: the columns chosen (or the defaults), and whether to colour
    /// it (`--color`, NO_COLOR and whether stdout is a terminal, already weighed).
    Table {
        columns: Option<Vec<Column>>,
        color: bool,
    },
    /// conntrack's `-o save`: each entry as the command line that makes it.
    Save,
}
