//! ct's JSON Lines (`-o json`), written and read back: [`write`] prints entries and
//! expectations, [`read`] turns a printed entry line back into an entry (`--input`).
//!
//! The format is documented in docs/json.md and written down for validators in
//! docs/ct.schema.json.

pub mod read;
pub mod write;

pub use read::{JsonScratch, parse_line};
pub use write::JsonPrinter;
