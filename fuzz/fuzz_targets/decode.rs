//! Arbitrary bytes through the netlink message walk, the entry decoder, the filter and
//! every printer (tests/support/exercise.rs). The first byte picks how the rest is read:
//! even, as a whole datagram of netlink messages; odd, as one entry's attributes, with
//! the byte less its low bit as the family (3: AF_INET, 11: AF_INET6). Seeded from the
//! captured fixtures by fuzz/seed.sh.
#![no_main]

use libfuzzer_sys::fuzz_target;

// Shared with the offline tests, which use all of it; this target drives a part.
#[allow(dead_code)]
#[path = "../../tests/support/exercise.rs"]
mod exercise;

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => exercise::exercise_entry(mode & !1, rest),
        Some((_, rest)) => exercise::exercise_datagram(rest),
        None => {}
    }
});
