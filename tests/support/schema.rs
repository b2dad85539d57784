//! Checks ct's JSON against its published schema, docs/ct.schema.json, so a change of
//! shape that the schema does not allow fails the test that printed it.
//!
//! Declared once by each test binary (tests/kernel/main.rs, tests/offline/main.rs); the
//! tests that produce JSON use `crate::schema`. The schema is read and compiled once per
//! test binary (boon, draft 2020-12, with `format` asserted, so addresses must be
//! addresses).

use std::path::PathBuf;
use std::sync::OnceLock;

use boon::{Compiler, SchemaIndex, Schemas};

/// Which object a line must be: the schema's `$defs/entry`, `$defs/expectation`,
/// `$defs/stats`, `$defs/entry_event` or `$defs/expectation_event`, or `Any` of them (the
/// schema's root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Entry,
    Expectation,
    Stats,
    EntryEvent,
    ExpectationEvent,
    Any,
}

impl Kind {
    fn pointer(self) -> &'static str {
        match self {
            Kind::Entry => "#/$defs/entry",
            Kind::Expectation => "#/$defs/expectation",
            Kind::Stats => "#/$defs/stats",
            Kind::EntryEvent => "#/$defs/entry_event",
            Kind::ExpectationEvent => "#/$defs/expectation_event",
            Kind::Any => "#",
        }
    }
}

/// docs/ct.schema.json.
pub fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/ct.schema.json")
}

/// The schema document, parsed.
pub fn schema_document() -> serde_json::Value {
    let path = schema_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

struct Compiled {
    schemas: Schemas,
    indexes: [(Kind, SchemaIndex); 6],
}

/// The schema compiled once for every kind. Compiling also checks the schema against
/// the draft 2020-12 meta-schema.
fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let location = format!("file://{}", schema_path().display());
        let mut compiler = Compiler::new();
        compiler.enable_format_assertions();
        compiler
            .add_resource(&location, schema_document())
            .unwrap_or_else(|e| panic!("{location}: {e:#}"));
        let mut schemas = Schemas::new();
        let indexes = [
            Kind::Entry,
            Kind::Expectation,
            Kind::Stats,
            Kind::EntryEvent,
            Kind::ExpectationEvent,
            Kind::Any,
        ]
        .map(|kind| {
            let at = format!("{location}{}", kind.pointer());
            let index = compiler
                .compile(&at, &mut schemas)
                .unwrap_or_else(|e| panic!("the schema does not compile at {at}: {e:#}"));
            (kind, index)
        });
        Compiled { schemas, indexes }
    })
}

/// Why `value` is not a valid `kind`, or `None` when it is.
pub fn violation(kind: Kind, value: &serde_json::Value) -> Option<String> {
    let compiled = compiled();
    let index = compiled
        .indexes
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, index)| *index)
        .expect("every kind is compiled");
    compiled
        .schemas
        .validate(value, index)
        .err()
        .map(|e| format!("{e}"))
}

/// Every line of `text` (JSON Lines, as ct writes them) is one object that docs/ct.schema.json
/// allows for `kind`; panics naming the line and what is wrong with it. Returns the
/// number of lines checked.
pub fn validate_json_lines(kind: Kind, text: &str) -> usize {
    let mut checked = 0;
    for (number, line) in text.lines().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {line}", number + 1));
        if let Some(why) = violation(kind, &value) {
            panic!(
                "line {} does not fit docs/ct.schema.json ({kind:?}):\n{why}\n{line}",
                number + 1
            );
        }
        checked += 1;
    }
    checked
}
