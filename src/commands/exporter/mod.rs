//! `ct exporter`: the conntrack table as Prometheus metrics, served over HTTP.
//!
//! One tokio runtime on the current thread serves the connections ([`http`]); each
//! scrape waits for one shared reading of the kernel ([`scrape`]), made on a blocking
//! thread, which reads each namespace's counters and, unless `--no-breakdown`, dumps each
//! namespace that holds entries once and counts as it streams ([`metrics`]).

pub mod http;
pub mod metrics;
pub mod scrape;

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::commands::Stderr;
use crate::plan;
use metrics::Options;
use scrape::{Scraper, Sources};

/// Readings run on at most this many blocking threads; single flight needs one, and
/// a stuck reading should not make the runtime start hundreds.
const BLOCKING_THREADS: usize = 2;

pub fn run(args: plan::Exporter) -> Result<()> {
    let sources = Sources::new(&args.scope)?;
    let options = Options {
        breakdown: args.breakdown,
        per_cpu: args.per_cpu,
        top_sources: args.top_sources,
        top_destinations: args.top_destinations,
    };
    let scraper = Arc::new(Scraper::new(sources, options, args.scrape_timeout));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .context("cannot start the HTTP server's runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let _ = writeln!(
            Stderr,
            "{}serving metrics on http://{}/metrics",
            crate::commands::prefix(),
            listener.local_addr().unwrap_or(args.listen)
        );
        http::serve(listener, scraper).await
    })
}
