//! Prometheus metrics held in the app state (no process-global recorder):
//! requests by route and status, request latency, event-log append latency,
//! live rooms, peers and sessions (read from the live projection at scrape
//! time), and the media transport's packet counters (read from the source
//! [`Metrics::set_media_source`] installs, at scrape time).
//!
//! ```text
//! let metrics = Metrics::new();
//! let log = MeteredLog::wrap(log, metrics.clone());   // times every append
//! let engine = Engine::start(log, snapshots).await?;
//! ```

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use async_trait::async_trait;
use caucus_eventlog::{
    AppendError, AppendOutcome, EventLog, ExpectedRevision, NewEvent, Position, ReadError,
    RecordedEvent, StreamName,
};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::watch;

/// Labels of the request metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route pattern (`/v2/rooms/{room_id}`), never the raw path.
    pub route: String,
    pub status: u16,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs .. ~3.3 s
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// The server's metrics; cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    append_seconds: Histogram,
    live_rooms: Gauge,
    live_sessions: Gauge,
    live_peers: Gauge,
    media: Arc<MediaSource>,
}

/// The media transport's data-path counters, as `/metrics` shows them
/// (`caucus_sfu_{received,forwarded}_{packets,bytes}_total`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MediaCounters {
    pub packets_received: u64,
    pub bytes_received: u64,
    pub packets_forwarded: u64,
    pub bytes_forwarded: u64,
}

type MediaFn = Box<dyn Fn() -> MediaCounters + Send + Sync>;

/// Reads the media counters at scrape time; empty until a source is set.
#[derive(Default)]
struct MediaSource(OnceLock<MediaFn>);

impl std::fmt::Debug for MediaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("MediaSource")
            .field(&self.0.get().is_some())
            .finish()
    }
}

impl Collector for MediaSource {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(read) = self.0.get() else {
            return Ok(());
        };
        let c = read();
        for (name, help, value) in [
            (
                "sfu_received_packets",
                "RTP packets received from publishers",
                c.packets_received,
            ),
            (
                "sfu_received_bytes",
                "Payload bytes received from publishers",
                c.bytes_received,
            ),
            (
                "sfu_forwarded_packets",
                "RTP packets forwarded to subscribers",
                c.packets_forwarded,
            ),
            (
                "sfu_forwarded_bytes",
                "Payload bytes forwarded to subscribers",
                c.bytes_forwarded,
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("caucus");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            request_seconds.clone(),
        );
        let append_seconds = latency_histogram();
        registry.register(
            "eventlog_append_duration_seconds",
            "Latency of durable appends to the event log",
            append_seconds.clone(),
        );
        let live_rooms = Gauge::default();
        registry.register(
            "live_rooms",
            "Rooms known to the live projection",
            live_rooms.clone(),
        );
        let live_sessions = Gauge::default();
        registry.register("live_sessions", "Sessions open now", live_sessions.clone());
        let live_peers = Gauge::default();
        registry.register("live_peers", "Peers joined now", live_peers.clone());
        let media = Arc::new(MediaSource::default());
        registry.register_collector(Box::new(media.clone()));
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_seconds,
                append_seconds,
                live_rooms,
                live_sessions,
                live_peers,
                media,
            }),
        }
    }

    /// Counts one finished request.
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.inner
            .request_seconds
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Records one append's latency.
    pub fn record_append(&self, seconds: f64) {
        self.inner.append_seconds.observe(seconds);
    }

    /// Sets the live gauges.
    pub fn set_live(&self, rooms: usize, sessions: usize, peers: usize) {
        let g = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.inner.live_rooms.set(g(rooms));
        self.inner.live_sessions.set(g(sessions));
        self.inner.live_peers.set(g(peers));
    }

    /// Installs where the media counters are read from at scrape time (once;
    /// a second source is ignored and reported as `false`).
    pub fn set_media_source(
        &self,
        read: impl Fn() -> MediaCounters + Send + Sync + 'static,
    ) -> bool {
        self.inner.media.0.set(Box::new(read)).is_ok()
    }

    /// The text exposition (OpenMetrics, which Prometheus reads).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An [`EventLog`] that times every append into [`Metrics`].
#[derive(Debug)]
pub struct MeteredLog<L: ?Sized> {
    log: Arc<L>,
    metrics: Metrics,
}

impl MeteredLog<dyn EventLog> {
    /// Wraps `log`; hand the result to the engine.
    pub fn wrap(log: Arc<dyn EventLog>, metrics: Metrics) -> Arc<dyn EventLog> {
        Arc::new(Self { log, metrics })
    }
}

#[async_trait]
impl EventLog for MeteredLog<dyn EventLog> {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        let started = Instant::now();
        let result = self.log.append(stream, expected, events).await;
        self.metrics.record_append(started.elapsed().as_secs_f64());
        result
    }

    async fn read_stream(
        &self,
        stream: &StreamName,
        from_revision: u64,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        self.log.read_stream(stream, from_revision, max).await
    }

    async fn read_all(
        &self,
        after: Option<Position>,
        max: usize,
    ) -> Result<Vec<RecordedEvent>, ReadError> {
        self.log.read_all(after, max).await
    }

    async fn stream_revision(&self, stream: &StreamName) -> Result<Option<u64>, ReadError> {
        self.log.stream_revision(stream).await
    }

    fn head(&self) -> watch::Receiver<Option<Position>> {
        self.log.head()
    }

    async fn load_checkpoint(&self, consumer: &str) -> Result<Option<Position>, ReadError> {
        self.log.load_checkpoint(consumer).await
    }

    async fn save_checkpoint(&self, consumer: &str, position: Position) -> Result<(), AppendError> {
        self.log.save_checkpoint(consumer, position).await
    }

    async fn checkpoints(&self) -> Result<Vec<(String, Position)>, ReadError> {
        self.log.checkpoints().await
    }
}
