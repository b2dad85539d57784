//! Which namespaces a scrape reads, and one reading shared by the scrapes that wait for
//! it (single flight): however many scrapers ask at once, the kernel is dumped once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use hyper::body::Bytes;
use tokio::sync::Mutex;

use super::metrics::{self, Lifetime, NamespaceScrape, Options, PastDeadline};
use crate::commands::{self, Stderr};
use crate::netlink::Conntrack;
use crate::netlink::netns::{self, Namespace, Place, Scope};

/// The namespaces each scrape reads: the plan's scope, every one labelled as
/// `--all-netns` labels it ([`Namespace::label`]).
#[derive(Debug, Clone)]
pub struct Sources {
    scope: Scope,
    /// The one place of ct's own namespace or `--netns`, resolved at start; under
    /// `--all-netns` the namespaces are found anew at each scrape.
    one: Option<Place>,
}

/// How a reading of ct's own namespace is labelled when /proc cannot tell which it is.
const UNKNOWN_OWN_LABEL: &str = "self";

impl Sources {
    /// Resolves `--netns`/`--all-netns` before anything is served, so that a namespace
    /// that does not exist fails at start, not at the first scrape.
    pub fn new(scope: &Scope) -> Result<Sources> {
        let one = match scope {
            Scope::All => None,
            // Labelled `host` (or as --all-netns would label it); a socket opened "in"
            // ct's own namespace needs no entering.
            Scope::Own => Some(netns::own().map_or(Place::OWN, tagged)),
            Scope::Named(spec) => {
                let named = Namespace::named(spec);
                // Entered once now, so that a namespace that does not exist, a file that
                // is no namespace, or missing rights fail at start (in the words of every
                // command's --netns) rather than at every scrape.
                Conntrack::open_in(&named, None)?;
                // Found by inode, it is labelled as --all-netns would label it; a file
                // discover() does not list (bind-mounted elsewhere) by what was typed.
                let namespace = netns::discover()
                    .into_iter()
                    .find(|ns| ns.inode == named.inode)
                    .unwrap_or(named);
                Some(tagged(namespace))
            }
        };
        Ok(Sources {
            scope: scope.clone(),
            one,
        })
    }

    /// The namespaces to read now, each tagged with its namespace.
    fn places(&self) -> Vec<Place> {
        match &self.one {
            Some(place) => vec![place.clone()],
            None => self.scope.places(),
        }
    }
}

/// A place whose readings carry its namespace's label.
fn tagged(namespace: Namespace) -> Place {
    Place {
        namespace: Some(namespace),
        tagged: true,
    }
}

/// The label of the readings of `place`.
fn label(place: &Place) -> String {
    place
        .tag()
        .map_or_else(|| UNKNOWN_OWN_LABEL.into(), Namespace::label)
}

/// The last reading, and what the exporter counted over its life.
struct Last {
    /// When the last reading finished, and its metrics.
    finished: Option<Instant>,
    body: Bytes,
    lifetime: Lifetime,
}

/// Serves every scrape from a reading that was under way or began after the scrape
/// arrived: never a stale one, and never two at once.
pub struct Scraper {
    sources: Sources,
    options: Options,
    /// How long after its scrape arrived a reading may go on dumping.
    timeout: Duration,
    last: Mutex<Last>,
}

impl Scraper {
    pub fn new(sources: Sources, options: Options, timeout: Duration) -> Scraper {
        Scraper {
            sources,
            options,
            timeout,
            last: Mutex::new(Last {
                finished: None,
                body: Bytes::new(),
                lifetime: Lifetime::default(),
            }),
        }
    }

    /// The metrics for a scrape that arrived now. Waiting scrapes queue on the lock; the
    /// first to get it reads, and those that arrived before its reading finished take
    /// that reading's metrics.
    pub async fn metrics(self: &Arc<Self>) -> Bytes {
        let arrived = Instant::now();
        let mut last = self.last.lock().await;
        if last.finished.is_some_and(|finished| finished >= arrived) {
            return last.body.clone();
        }
        // The dump blocks (netlink, and a thread per foreign namespace): off the
        // runtime's one thread, which keeps answering other connections meanwhile.
        let scraper = Arc::clone(self);
        // Counted from the scrape's arrival: time spent waiting for the lock (a reading
        // under way that ended before it) is part of the scrape's.
        let deadline = arrived + self.timeout;
        // A reading that panicked (a bug) serves the exporter's own metrics only, rather
        // than taking the server down.
        let scrapes = tokio::task::spawn_blocking(move || scraper.read_all(deadline))
            .await
            .unwrap_or_default();
        last.lifetime.readings += 1;
        for scrape in scrapes.iter().filter(|scrape| scrape.reading.is_none()) {
            *last
                .lifetime
                .errors
                .entry(scrape.netns.clone())
                .or_default() += 1;
        }
        for scrape in scrapes.iter().filter(|scrape| scrape.timed_out) {
            *last
                .lifetime
                .timeouts
                .entry(scrape.netns.clone())
                .or_default() += 1;
        }
        last.body = match metrics::render(&scrapes, &last.lifetime, self.options) {
            Ok(text) => Bytes::from(text),
            Err(err) => {
                let _ = std::io::Write::write_all(
                    &mut Stderr,
                    format!(
                        "{}cannot render the metrics: {err:#}\n",
                        crate::commands::prefix()
                    )
                    .as_bytes(),
                );
                Bytes::new()
            }
        };
        last.finished = Some(Instant::now());
        last.body.clone()
    }

    /// Reads every namespace in turn, through the walk every command's loop over
    /// namespaces uses (`commands::visit_places`). One that fails (it vanished between
    /// discovery and reading, cannot be entered, or its kernel refused) is reported on
    /// stderr as every command reports a namespace it skipped, counted in
    /// `conntrack_scrape_errors_total`, and left out of this scrape; the exporter goes on
    /// serving (docs/namespaces.md).
    ///
    /// Every namespace's counters are read, however late; a breakdown not done by
    /// `deadline` is abandoned, and the namespace marked `timed_out`.
    fn read_all(&self, deadline: Instant) -> Vec<NamespaceScrape> {
        let mut scrapes = Vec::new();
        // Nothing here writes to standard output: the walk cannot fail.
        let _ = commands::visit_places(
            &self.sources.places(),
            |place, err| commands::report_skipped(commands::skipped_message(place, &err)),
            |place| {
                let start = Instant::now();
                let reading = self.read_one(place, deadline);
                let (reading, timed_out, result) = match reading {
                    Ok((reading, timed_out)) => (Some(reading), timed_out, Ok(())),
                    Err(err) => (None, false, Err(err)),
                };
                scrapes.push(NamespaceScrape {
                    netns: label(place),
                    reading,
                    seconds: start.elapsed().as_secs_f64(),
                    timed_out,
                });
                result
            },
        );
        scrapes
    }

    /// One namespace's reading, and whether its breakdown was abandoned at `deadline`.
    fn read_one(
        &self,
        place: &Place,
        deadline: Instant,
    ) -> Result<(metrics::NamespaceReading, bool)> {
        // A socket per reading: a namespace can vanish between scrapes, and a socket
        // kept open would pin it (and its table) alive. Dropped at the end, it also ends
        // a dump abandoned at the deadline: the kernel discards the rest of it.
        let mut conntrack = Conntrack::open_at(place, None)?;
        let mut reading = metrics::read_counters(&mut conntrack)?;
        if !self.options.breakdown {
            return Ok((reading, false));
        }
        let entries = reading.global.entries;
        match metrics::read_breakdown(&mut conntrack, entries, self.options, deadline) {
            Ok(breakdown) => reading.breakdown = Some(breakdown),
            Err(err) if err.downcast_ref::<PastDeadline>().is_some() => {
                return Ok((reading, true));
            }
            Err(err) => return Err(err),
        }
        Ok((reading, false))
    }
}
