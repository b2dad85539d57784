//! The tests that need root and the real kernel: each module was once its own test
//! binary, now one binary so the crate is linked once. Helpers live in tests/support/,
//! declared here once. Without root (or without conntrack, nft, ip) each test prints
//! `skipped: <reason>`, or fails under CT_REQUIRE_KERNEL_TESTS=1.
//!
//! Run one module with `cargo test --test kernel MODULE::` (e.g. `delete_cases::`).

#[macro_use]
#[path = "../support/common.rs"]
mod common;
#[path = "../support/changes.rs"]
mod changes;
#[path = "../support/fill.rs"]
mod fill;
#[path = "../support/schema.rs"]
mod schema;

mod all_netns;
mod churn;
mod cli_errors;
mod conntrack_mode;
mod conntrack_testsuite;
mod count_stats_get;
mod create_restore;
mod delete_cases;
mod delete_scale;
mod event_filter_kernel;
mod expectations;
mod exporter;
mod failures;
mod filters_vs_conntrack;
mod formats;
mod help_pages;
mod json_schema;
mod kernel_filter;
mod list_vs_conntrack;
mod saved_dumps;
mod top;
mod top_live;
mod update_zero;
mod watch;
mod watch_burst;
mod watch_vs_conntrack;
