//! The tests that never touch the kernel: captured dumps and replies, hand-built
//! entries, property tests and fuzz regressions. Each module was once its own test
//! binary; helpers live in tests/support/, declared here once.
//!
//! Run one module with `cargo test --test offline MODULE::` (e.g. `fixtures::`).

#[path = "../support/exercise.rs"]
mod exercise;
#[path = "../support/schema.rs"]
mod schema;

mod captured_replies;
mod decode_proptest;
mod fixtures;
mod fuzz_regressions;
mod synthetic;

/// The fixtures' `[start=...]` texts were captured with TZ=UTC, and glibc reads TZ once,
/// at the process's first local-time conversion. Every module shares this process, so TZ
/// is set before `main`, before any test thread exists or converts a time.
#[used]
#[unsafe(link_section = ".init_array")]
static UTC: extern "C" fn() = utc;

extern "C" fn utc() {
    // SAFETY: called from .init_array, before main: no other thread exists yet to read
    // the environment.
    unsafe { std::env::set_var("TZ", "UTC") };
}
