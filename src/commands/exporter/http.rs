//! The HTTP side: `/metrics`, a small page at `/`, nothing else.
//!
//! Scrapers are trusted, the network may not be: every connection must send its
//! headers within HEADER_READ_TIMEOUT and in at most MAX_HEADER_BYTES (hyper answers 431
//! beyond), lives at most CONNECTION_LIFETIME, and at most MAX_CONNECTIONS are served at
//! once (the rest wait in the kernel's accept queue). A bad request costs its own
//! connection only: a malformed one gets 400 (from hyper), as does one that is nothing
//! but blank lines (which hyper skips, as RFC 9112 lets a server, and then closes on
//! without a word: see [`skip_blank_lines`]); a method other than GET and HEAD gets 405
//! wherever it asks, an unknown path 404.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::scrape::Scraper;

/// A client that has not sent its whole request head by then is dropped (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// hyper's read buffer, and so the largest request head: a scrape's is a few hundred
/// bytes. (8 KiB is the least hyper accepts.)
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Connections served at once; Prometheus keeps one per target.
const MAX_CONNECTIONS: usize = 64;
/// Even a well-behaved keep-alive connection is closed after this, so that idle ones
/// cannot hold every slot for ever.
const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

const INDEX: &str = "<!DOCTYPE html>\n<html><head><title>ct exporter</title></head>\n\
<body><h1>ct exporter</h1><p>The conntrack table as Prometheus metrics: \
<a href=\"/metrics\">/metrics</a>.</p></body></html>\n";

/// Accepts connections for ever, each served on its own task.
pub async fn serve(listener: TcpListener, scraper: Arc<Scraper>) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = Arc::clone(&slots).acquire_owned().await?;
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors, or a connection reset before it was accepted: neither
            // is the listener's fault. Pause so that a persistent EMFILE does not spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let scraper = Arc::clone(&scraper);
        tokio::spawn(async move {
            if !skip_blank_lines(&stream).await {
                drop(slot);
                return;
            }
            let service = service_fn(move |request| respond(request, Arc::clone(&scraper)));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEADER_BYTES)
                .serve_connection(TokioIo::new(stream), service);
            // Errors (timeouts, garbage, resets) end this connection and nothing else.
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
            drop(slot);
        });
    }
}

/// The body of the 400 ct answers a request that is nothing but blank lines.
const EMPTY_REQUEST: &str = "an empty request; the metrics are at /metrics\n";

/// Reads the blank lines a request may start with, until its first other byte (left for
/// hyper). True when a request follows; false when the connection ended, or stayed
/// silent for HEADER_READ_TIMEOUT, first: then a client that sent blank lines has had
/// its 400 (hyper would close on it without one), and one that sent nothing is closed.
async fn skip_blank_lines(stream: &TcpStream) -> bool {
    let deadline = tokio::time::Instant::now() + HEADER_READ_TIMEOUT;
    let mut blank = 0usize;
    let mut buffer = [0u8; 256];
    loop {
        let peeked = match tokio::time::timeout_at(deadline, stream.peek(&mut buffer)).await {
            Ok(Ok(peeked)) => peeked,
            // Reset, or silent for too long.
            Ok(Err(_)) => return false,
            Err(_) => break,
        };
        if peeked == 0 {
            break;
        }
        let lines = buffer[..peeked]
            .iter()
            .take_while(|byte| matches!(byte, b'\r' | b'\n'))
            .count();
        if lines > 0 {
            // Taken off the socket: they are in the buffer already, so this does not wait.
            match stream.try_read(&mut buffer[..lines]) {
                Ok(read) => blank += read,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return false,
            }
        }
        if lines < peeked {
            return true;
        }
    }
    if blank > 0 {
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{EMPTY_REQUEST}",
            EMPTY_REQUEST.len()
        );
        let mut unsent = response.as_bytes();
        while !unsent.is_empty() && stream.writable().await.is_ok() {
            match stream.try_write(unsent) {
                Ok(written) => unsent = &unsent[written..],
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => break,
            }
        }
    }
    false
}

/// The answer to one request: 405 for any method but GET and HEAD, wherever it asks;
/// then the page, the metrics, or 404.
async fn respond(
    request: Request<Incoming>,
    scraper: Arc<Scraper>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(response);
    }
    let response = match request.uri().path() {
        "/metrics" => {
            let body = scraper.metrics().await;
            with_type(StatusCode::OK, body, prometheus::TEXT_FORMAT)
        }
        "/" => with_type(
            StatusCode::OK,
            Bytes::from_static(INDEX.as_bytes()),
            "text/html; charset=utf-8",
        ),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found; the metrics are at /metrics\n",
        ),
    };
    Ok(response)
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    with_type(
        status,
        Bytes::from_static(text.as_bytes()),
        "text/plain; charset=utf-8",
    )
}

fn with_type(status: StatusCode, body: Bytes, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
