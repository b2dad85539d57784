//! `ct`: an inspector for the Linux conntrack table.
//!
//! Every command is a short path through the same stages, one module each:
//!
//! | stage | module |
//! | --- | --- |
//! | the command line, one type per command plus shared groups | [`cli`] |
//! | typed arguments → checked parts (target, filter, output) | [`plan`] |
//! | one file per command, composing the stages below | [`commands`] |
//! | the socket, namespaces, requests and the receive loop | [`netlink`] |
//! | or a saved dump's lines (`--input`) | [`input`] |
//! | ctnetlink attributes → the model | [`decode`] |
//! | the model: entries, expectations, counters, and the facts derived from them | [`model`] |
//! | which entries to show | [`filter`] |
//! | one printer per format | [`output`] |
//!
//! Kernel numbers live in [`kernel`], label names in [`labelmap`]. A new command is a new
//! file in `commands/` and a variant in [`cli::Command`]; it should need nothing else
//! than the stages above.

pub mod cli;
pub mod commands;
pub mod conntrack;
pub mod decode;
pub mod filter;
pub mod input;
pub mod kernel;
pub mod labelmap;
pub mod model;
pub mod netlink;
pub mod output;
pub mod plan;

pub use commands::{is_broken_pipe, run};
