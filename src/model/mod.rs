//! The model: what ct reads from the kernel, whatever the output format, and every fact
//! derived from it, defined once. [`entry`] is a connection, [`event`] what happened to one, [`expect`] an expectation,
//! [`stats`] the table's counters, [`group`] entries grouped for `ct top`, [`table`] which
//! of the kernel's tables a command reads, [`netns`] a network namespace and its label. These modules only describe; they neither read the
//! wire nor print.

pub mod create;
pub mod entry;
pub mod event;
pub mod expect;
pub mod group;
pub mod netns;
pub mod stats;
pub mod table;
pub mod update;
