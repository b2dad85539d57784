//! Which namespaces a scrape reads, and one reading shared by the scrapes that wait for
//! it (single flight): however many scrapers ask at once, the kernel is dumped once.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use hyper::body::Bytes;
use tokio::sync::Mutex;

use super::metrics::{self, Lifetime, NamespaceScrape, Options};
use crate::commands::Stderr;
use crate::netlink::Conntrack;
use crate::netlink::netns::{self, Namespace, Place, Scope};

/// The namespaces each scrape reads.
#[derive(Debug, Clone)]
pub enum Sources {
    /// The one ct runs in, under this label.
    Own(String),
    /// One other, entered by a thread for each reading.
    One(Namespace),
    /// Every namespace of the host, found anew at each scrape.
    All,
}

impl Sources {
    /// Resolves `--netns`/`--all-netns` before anything is served, so that a namespace
    /// that does not exist fails at start, not at the first scrape.
    pub fn new(scope: &Scope) -> Result<Sources> {
        match scope {
            Scope::All => Ok(Sources::All),
            Scope::Own => Ok(Sources::Own(own_label())),
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
                Ok(Sources::One(namespace))
            }
        }
    }

    /// (label, where to open a socket) for each namespace to read now: the places of
    /// the one namespace strategy every command uses.
    fn targets(&self) -> Vec<(String, Place)> {
        match self {
            Sources::Own(label) => vec![(label.clone(), Place::OWN)],
            Sources::One(namespace) => vec![(
                namespace.label(),
                Place {
                    namespace: Some(namespace.clone()),
                    tagged: false,
                },
            )],
            Sources::All => Scope::All
                .places()
                .into_iter()
                .map(|place| (place.tag().map(Namespace::label).unwrap_or_default(), place))
                .collect(),
        }
    }
}

/// The label of ct's own namespace: `host` when it is the initial one, else the label
/// `--all-netns` would give it (its name under /run/netns, `net:INODE,pid:N`...).
fn own_label() -> String {
    let own = inode("/proc/self/ns/net".as_ref());
    if own.is_some() && own == netns::initial_namespace() {
        return "host".into();
    }
    let found = own.and_then(|own| netns::discover().into_iter().find(|ns| ns.inode == own));
    match (found, own) {
        (Some(namespace), _) => namespace.label(),
        (None, Some(inode)) => format!("net:{inode}"),
        (None, None) => "self".into(),
    }
}

fn inode(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|meta| meta.ino())
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
    last: Mutex<Last>,
}

impl Scraper {
    pub fn new(sources: Sources, options: Options) -> Scraper {
        Scraper {
            sources,
            options,
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
        // A reading that panicked (a bug) serves the exporter's own metrics only, rather
        // than taking the server down.
        let scrapes = tokio::task::spawn_blocking(move || scraper.read_all())
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
        last.body = match metrics::render(&scrapes, &last.lifetime, self.options) {
            Ok(text) => Bytes::from(text),
            Err(err) => {
                let _ = std::io::Write::write_all(
                    &mut Stderr,
                    format!("ct: cannot render the metrics: {err:#}\n").as_bytes(),
                );
                Bytes::new()
            }
        };
        last.finished = Some(Instant::now());
        last.body.clone()
    }

    /// Reads every namespace in turn. One that fails (it vanished between discovery and
    /// reading, cannot be entered, or its kernel refused) is reported on stderr and in
    /// `conntrack_scrape_errors_total`, and left out of this scrape; the exporter goes on
    /// serving (docs/namespaces.md).
    fn read_all(&self) -> Vec<NamespaceScrape> {
        self.sources
            .targets()
            .into_iter()
            .map(|(netns, place)| {
                let start = Instant::now();
                let reading = self.read_one(&place);
                if let Err(err) = &reading {
                    let _ = std::io::Write::write_all(
                        &mut Stderr,
                        format!("ct: cannot read network namespace {netns}: {err:#}\n").as_bytes(),
                    );
                }
                NamespaceScrape {
                    netns,
                    reading: reading.ok(),
                    seconds: start.elapsed().as_secs_f64(),
                }
            })
            .collect()
    }

    fn read_one(&self, place: &Place) -> Result<metrics::NamespaceReading> {
        // A socket per reading: a namespace can vanish between scrapes, and a socket
        // kept open would pin it (and its table) alive.
        let mut conntrack = Conntrack::open_at(place, None)?;
        metrics::read_namespace(&mut conntrack, self.options)
    }
}
