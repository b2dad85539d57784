//! Inputs the fuzzer (fuzz/, issue 5) once crashed on, kept so they never do again. Each
//! file in tests/fuzz-regressions/ is a fuzz input: the first byte says how the rest is
//! read (see fuzz/fuzz_targets/decode.rs).

use crate::exercise;

use std::path::Path;

fn run(input: &[u8]) {
    match input.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => exercise::exercise_entry(mode & !1, rest),
        Some((_, rest)) => exercise::exercise_datagram(rest),
        None => {}
    }
}

#[test]
fn issue_5_fuzz_crashes_stay_fixed() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut count = 0;
    for file in std::fs::read_dir(folder).unwrap() {
        let path = file.unwrap().path();
        run(&std::fs::read(&path).unwrap());
        count += 1;
    }
    assert!(count >= 1, "the regression inputs are there");
}

/// The first crash: two directions' packet counters near u64::MAX overflowed the table's
/// sum (a debug-build panic; wrong totals in release).
#[test]
fn issue_5_table_counters_saturate() {
    let input = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions/table-counter-overflow"),
    )
    .unwrap();
    run(&input);
}

/// The second crash: an NLMSG_ERROR carrying i32::MIN, whose negation overflowed.
#[test]
fn issue_5_absurd_errno() {
    let input = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz-regressions/errno-negation-overflow"),
    )
    .unwrap();
    run(&input);
}
