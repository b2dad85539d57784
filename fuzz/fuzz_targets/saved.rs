//! Arbitrary bytes as a saved dump (`--input`): each line through the conntrack-text,
//! /proc, JSON and `-o save` readers, then the filter, `ct top`'s grouping and every printer
//! (tests/support/exercise.rs). Seeded from the fixtures' `conntrack -L` lines, JSON
//! and `-o save` lines by fuzz/seed.sh.
#![no_main]

use libfuzzer_sys::fuzz_target;

// Shared with the offline tests, which use all of it; this target drives a part.
#[allow(dead_code)]
#[path = "../../tests/support/exercise.rs"]
mod exercise;

fuzz_target!(|data: &[u8]| exercise::exercise_saved(data));
