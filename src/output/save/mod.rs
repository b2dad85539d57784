//! `-o save`: conntrack's command lines, written ([`write`](mod@write)) and read back ([`read`],
//! for `--input`).

pub mod read;
pub mod write;

pub use read::{is_save_line, parse_line};
pub use write::SavePrinter;
