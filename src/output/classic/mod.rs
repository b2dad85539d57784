//! conntrack's text: the classic line written ([`write`](mod@write)) as `conntrack -L` prints it,
//! and read back ([`read`], for `--input`) from `conntrack -L` or
//! `/proc/net/nf_conntrack`.

pub mod read;
pub mod write;

pub use read::{TextContext, TextScratch, capture_time};
pub use write::{ClassicOptions, ClassicPrinter};
