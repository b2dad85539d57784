//! Property tests: fixture messages captured from the kernel (entries, expectations,
//! statistics, get replies), mutated at random (bytes overwritten, attribute lengths
//! changed, cut short, spliced), must never panic the netlink walk, a decoder, the
//! filter or any printer; nor may any text read as /proc/net/stat/nf_conntrack, or as a saved dump (`--input`). The fuzz target in fuzz/ runs
//! the same code for millions of inputs; this runs a few thousand in every `cargo test`.

use crate::exercise;

use std::path::Path;

use ct::netlink::{DumpStats, walk_datagram};
use proptest::prelude::*;

fn fixture_bytes(scenario: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{scenario}.bin"));
    std::fs::read(path).unwrap()
}

/// The captures: entry dumps, expectation dumps, statistics and get replies.
const CAPTURES: [&str; 7] = [
    "router",
    "plain",
    "expect/all",
    "expect/crafted",
    "expect/nat6",
    "replies/x_ct_stats_cpu",
    "replies/get_icmpv6",
];

/// Every ctnetlink message of the captures, as (family, attributes).
fn fixture_messages() -> Vec<(u8, Vec<u8>)> {
    let mut all = Vec::new();
    for scenario in CAPTURES {
        let bytes = fixture_bytes(scenario);
        let mut stats = DumpStats::default();
        walk_datagram(&bytes, None, "the capture", &mut stats, &mut |m| {
            all.push((m.family, m.attributes.to_vec()));
            Ok(())
        })
        .unwrap();
    }
    all
}

/// One change to a byte string.
#[derive(Debug, Clone)]
enum Edit {
    /// Overwrite the byte at (position modulo length).
    Set(usize, u8),
    /// Write a 16-bit little-endian value, as an attribute length or type would be.
    SetU16(usize, u16),
    /// Cut the bytes at (position modulo length + 1).
    Truncate(usize),
    /// Repeat a slice of the bytes at another place.
    Splice(usize, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, value)| Edit::Set(at, value)),
        (any::<usize>(), any::<u16>()).prop_map(|(at, value)| Edit::SetU16(at, value)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(from, len, to)| Edit::Splice(from, len, to)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let len = bytes.len();
    match *edit {
        _ if len == 0 => {}
        Edit::Set(at, value) => bytes[at % len] = value,
        Edit::SetU16(at, value) => {
            let at = at % len;
            for (i, b) in value.to_le_bytes().into_iter().enumerate() {
                if at + i < len {
                    bytes[at + i] = b;
                }
            }
        }
        Edit::Truncate(at) => bytes.truncate(at % (len + 1)),
        Edit::Splice(from, count, to) => {
            let from = from % len;
            let piece: Vec<u8> = bytes[from..(from + count % 64).min(len)].to_vec();
            let to = to % (len + 1);
            bytes.splice(to..to, piece);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_entries_never_panic(
        pick in any::<usize>(),
        family in prop_oneof![Just(2u8), Just(10u8), any::<u8>()],
        edits in proptest::collection::vec(edit(), 0..6),
    ) {
        let messages = fixture_messages();
        let mut attributes = messages[pick % messages.len()].1.clone();
        for e in &edits {
            apply(&mut attributes, e);
        }
        exercise::exercise_entry(family, &attributes);
    }

    #[test]
    fn mutated_datagrams_never_panic(
        scenario in proptest::sample::select(CAPTURES.to_vec()),
        edits in proptest::collection::vec(edit(), 0..6),
    ) {
        let mut bytes = fixture_bytes(scenario);
        for e in &edits {
            apply(&mut bytes, e);
        }
        exercise::exercise_datagram(&bytes);
    }

    #[test]
    fn any_proc_text_never_panics(text in "[0-9a-fx \\n\\t-]{0,300}|\\PC{0,200}") {
        exercise::exercise_proc_stats(&text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise::exercise_datagram(&bytes);
        exercise::exercise_entry(2, &bytes);
        exercise::exercise_saved(&bytes);
    }

    #[test]
    fn mutated_saved_dumps_never_panic(
        saved in proptest::sample::select(SAVED_DUMPS.to_vec()),
        edits in proptest::collection::vec(edit(), 0..6),
    ) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(saved);
        let mut bytes = std::fs::read(path).unwrap();
        for e in &edits {
            apply(&mut bytes, e);
        }
        exercise::exercise_saved(&bytes);
    }
}

/// Saved dumps `--input` reads: conntrack's text with every modifier, ct's JSON, and
/// `-o save` lines (router.save.txt: `ct list --input router.json -o save`, which
/// writes what conntrack -L -o save would).
const SAVED_DUMPS: [&str; 5] = [
    "router.all.txt",
    "plain.default.txt",
    "router.json",
    "plain.json",
    "router.save.txt",
];

/// The unmutated captures go through every printer too (the proptests above mostly see
/// broken input).
#[test]
fn every_captured_entry_goes_through_every_printer() {
    let messages = fixture_messages();
    assert!(messages.len() > 40);
    for (family, attributes) in &messages {
        exercise::exercise_entry(*family, attributes);
    }
}
