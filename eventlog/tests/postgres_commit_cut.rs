//! A connection that dies during COMMIT. A small TCP proxy between the store
//! and PostgreSQL reads the frontend protocol and, while armed, cuts the store's
//! side of a connection at its `COMMIT`:
//!
//! - after forwarding it, so the server commits but the store never hears;
//! - before forwarding it, so the server rolls the transaction back.
//!
//! Either way every append of the cut group gets `AppendError::Unavailable`,
//! no batch is ever partly stored, a retry with the same event ids leaves each
//! batch stored exactly once (answered `already_appended` when the cut commit
//! went through), positions stay dense, and subscribers on both nodes see
//! every event once.

#![cfg(feature = "postgres")]

mod pg;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caucus_eventlog::postgres::PostgresLog;
use caucus_eventlog::{
    AppendError, AppendOutcome, EventLog, ExpectedRevision, Filter, NewEvent, Position,
    RecordedEvent, StreamName, Subscription, SubscriptionMessage,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Where the proxy cuts the store's connection at `COMMIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// Forward `COMMIT` to the server, then cut the store's side: the server
    /// commits, the store never hears.
    AfterForwarding,
    /// Cut both sides instead of forwarding `COMMIT`: the server rolls back.
    BeforeForwarding,
}

/// What the proxy did to one connection.
#[derive(Debug)]
struct CutReport {
    /// The server process behind the connection (from BackendKeyData).
    backend_pid: i32,
    /// The server's answer to the forwarded `COMMIT` (`COMMIT`, or `ROLLBACK`
    /// for an aborted transaction); `None` when it was not forwarded.
    server_said: Option<String>,
}

/// A TCP proxy in front of PostgreSQL that cuts connections at `COMMIT` while
/// armed. Every connection of a store pointed at it passes through.
struct CommitCutter {
    addr: std::net::SocketAddr,
    armed: Arc<Mutex<Option<Cut>>>,
    /// Connections cut so far, counted as they are cut (their reports may
    /// follow later, once the server has answered).
    cuts: Arc<AtomicUsize>,
    reports: mpsc::UnboundedReceiver<CutReport>,
}

impl CommitCutter {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let armed = Arc::new(Mutex::new(None));
        let (report, reports) = mpsc::unbounded_channel();
        let cuts = Arc::new(AtomicUsize::new(0));
        let cutter = Cutter {
            armed: armed.clone(),
            cuts: cuts.clone(),
            report,
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                tokio::spawn(relay(client, server, cutter.clone()));
            }
        });
        Self {
            addr,
            armed,
            cuts,
            reports,
        }
    }

    /// Cuts every connection that sends `COMMIT` from now until disarmed.
    fn arm(&self, cut: Option<Cut>) {
        *self.armed.lock().unwrap() = cut;
    }

    /// `url` with its host and port replaced by the proxy's.
    fn url(&self, url: &str) -> String {
        let after_scheme = url.find("://").unwrap() + 3;
        let rest = &url[after_scheme..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let user = match rest[..authority_end].rfind('@') {
            Some(at) => &rest[..=at],
            None => "",
        };
        format!(
            "{}{user}{}{}",
            &url[..after_scheme],
            self.addr,
            &rest[authority_end..]
        )
    }
}

/// What each relay shares with the proxy.
#[derive(Clone)]
struct Cutter {
    armed: Arc<Mutex<Option<Cut>>>,
    cuts: Arc<AtomicUsize>,
    report: mpsc::UnboundedSender<CutReport>,
}

/// Splits complete protocol messages off the front of `buf`. The first
/// frontend message (startup) has no type byte; every other message is a type
/// byte and a big-endian length that counts itself.
fn take_message(buf: &mut Vec<u8>, untyped: bool) -> Option<Vec<u8>> {
    let header = if untyped { 0 } else { 1 };
    if buf.len() < header + 4 {
        return None;
    }
    let len = u32::from_be_bytes(buf[header..header + 4].try_into().unwrap()) as usize;
    let total = header + len;
    if buf.len() < total {
        return None;
    }
    Some(buf.drain(..total).collect())
}

/// The text of a simple-query message (`Q`), if `msg` is one.
fn simple_query(msg: &[u8]) -> Option<String> {
    (msg.first() == Some(&b'Q')).then(|| {
        String::from_utf8_lossy(&msg[5..msg.len() - 1])
            .trim()
            .to_owned()
    })
}

/// Relays one connection, message by message, until either side closes or
/// the connection is cut.
async fn relay(client: TcpStream, mut server: TcpStream, cutter: Cutter) {
    // `None` once the store's side is cut after forwarding COMMIT: the proxy
    // then keeps reading the server until it answers that COMMIT.
    let mut client = Some(client);
    let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
    let (mut startup, mut backend_pid) = (true, 0);
    let (mut cbuf, mut sbuf) = ([0u8; 8192], [0u8; 8192]);
    loop {
        tokio::select! {
            n = async {
                match client.as_mut() {
                    Some(c) => c.read(&mut cbuf).await,
                    None => std::future::pending().await,
                }
            } => {
                let Ok(n @ 1..) = n else { return };
                from_client.extend_from_slice(&cbuf[..n]);
                while let Some(msg) = take_message(&mut from_client, startup) {
                    startup = false;
                    let cut = match simple_query(&msg) {
                        Some(q) if q.eq_ignore_ascii_case("COMMIT") => *cutter.armed.lock().unwrap(),
                        _ => None,
                    };
                    if cut.is_some() {
                        cutter.cuts.fetch_add(1, Ordering::SeqCst);
                    }
                    if cut == Some(Cut::BeforeForwarding) {
                        let _ = cutter.report.send(CutReport { backend_pid, server_said: None });
                        return;
                    }
                    if server.write_all(&msg).await.is_err() {
                        return;
                    }
                    if cut == Some(Cut::AfterForwarding) {
                        // The store's side closes here; answers stay with us.
                        client = None;
                        break;
                    }
                }
            }
            n = server.read(&mut sbuf) => {
                let Ok(n @ 1..) = n else { return };
                if let Some(c) = client.as_mut() && c.write_all(&sbuf[..n]).await.is_err() {
                    return;
                }
                from_server.extend_from_slice(&sbuf[..n]);
                while let Some(msg) = take_message(&mut from_server, false) {
                    match msg[0] {
                        // BackendKeyData: the server process id, then a secret.
                        b'K' => backend_pid = i32::from_be_bytes(msg[5..9].try_into().unwrap()),
                        // CommandComplete: a NUL-terminated tag.
                        b'C' if client.is_none() => {
                            let tag = String::from_utf8_lossy(&msg[5..msg.len() - 1]).into_owned();
                            if tag == "COMMIT" || tag == "ROLLBACK" {
                                let _ = cutter.report.send(CutReport {
                                    backend_pid,
                                    server_said: Some(tag),
                                });
                                return;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// The PostgreSQL server the tests use, as `host:port`.
fn upstream() -> String {
    let config: tokio_postgres::Config = pg::admin_url().parse().unwrap();
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

fn stream(name: &str) -> StreamName {
    StreamName::new(name).unwrap()
}

/// Collects the first `n` events of a subscription from the start of the
/// log; returns them and the subscription.
fn collect(
    log: Arc<PostgresLog>,
    n: usize,
) -> tokio::task::JoinHandle<(Vec<RecordedEvent>, Subscription)> {
    tokio::spawn(async move {
        let mut sub = Subscription::new(log, None, Filter::All).with_page_size(4);
        let mut seen = Vec::with_capacity(n);
        while seen.len() < n {
            match sub.next().await.unwrap() {
                SubscriptionMessage::Event(e) => seen.push(e),
                SubscriptionMessage::CaughtUp => {}
            }
        }
        (seen, sub)
    })
}

/// Waits until the server process behind a cut connection has ended, so its
/// transaction is settled one way or the other.
async fn backend_gone(direct: &tokio_postgres::Client, pid: i32) {
    for _ in 0..500 {
        let alive: i64 = direct
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .await
            .unwrap()
            .get(0);
        if alive == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the server process {pid} of the cut connection did not end");
}

/// One append of the scenario.
struct Case {
    stream: StreamName,
    expected: ExpectedRevision,
    events: Vec<NewEvent>,
}

/// Asserts that the log holds, at dense positions from 0, the seed event and
/// then, if `stored`, each case's batch whole and in order (batches in any
/// order among themselves, once each).
async fn assert_log(log: &PostgresLog, cases: &[Case], stored: bool) -> Vec<RecordedEvent> {
    let all = log.read_all(None, 1000).await.unwrap();
    let positions: Vec<u64> = all.iter().map(|e| e.position.0).collect();
    assert_eq!(positions, (0..all.len() as u64).collect::<Vec<_>>());
    let ids: HashSet<_> = all.iter().map(|e| e.event_id).collect();
    assert_eq!(ids.len(), all.len(), "an event is stored twice");
    let expected_len = 1 + if stored {
        cases.iter().map(|c| c.events.len()).sum::<usize>()
    } else {
        0
    };
    assert_eq!(all.len(), expected_len, "{all:#?}");
    for c in cases {
        let mine: Vec<_> = all.iter().filter(|e| e.stream == c.stream).collect();
        let seed = usize::from(c.stream.as_str() == "room-seeded");
        if !stored {
            assert_eq!(mine.len(), seed);
            continue;
        }
        let batch = &mine[seed..];
        assert_eq!(
            batch.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            c.events.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            "{} holds its batch whole and in order",
            c.stream
        );
        let first = batch[0].position.0;
        for (i, e) in batch.iter().enumerate() {
            assert_eq!(e.position.0, first + i as u64, "a batch is contiguous");
            assert_eq!(e.revision, (seed + i) as u64);
        }
        assert_eq!(
            log.stream_revision(&c.stream).await.unwrap(),
            Some((seed + batch.len() - 1) as u64)
        );
    }
    all
}

async fn connection_cut_at_commit(cut: Cut) {
    let db = pg::ScratchDb::create().await;
    let mut proxy = CommitCutter::start(upstream()).await;
    // `log` reaches PostgreSQL through the proxy; `direct` is a second node.
    let log = PostgresLog::connect(&proxy.url(&db.url)).await.unwrap();
    let direct = db.open().await;
    let admin = db.client().await;

    let seeded = stream("room-seeded");
    log.append(&seeded, ExpectedRevision::NoStream, vec![pg::event(0)])
        .await
        .unwrap();
    let cases = vec![
        Case {
            stream: seeded.clone(),
            expected: ExpectedRevision::Exact(0),
            events: (1..=5).map(pg::event).collect(),
        },
        Case {
            stream: stream("room-new"),
            expected: ExpectedRevision::NoStream,
            events: (6..=8).map(pg::event).collect(),
        },
        Case {
            stream: stream("room-any"),
            expected: ExpectedRevision::Any,
            events: vec![pg::event(9)],
        },
    ];
    let total = 1 + cases.iter().map(|c| c.events.len()).sum::<usize>();
    let subscribers = [collect(log.clone(), total), collect(direct.clone(), total)];

    // Every append queued now is cut at its group's COMMIT.
    proxy.arm(Some(cut));
    let appends: Vec<_> = cases
        .iter()
        .map(|c| {
            let (log, s, events) = (log.clone(), c.stream.clone(), c.events.clone());
            let expected = c.expected;
            tokio::spawn(async move { log.append(&s, expected, events).await })
        })
        .collect();
    for (a, c) in appends.into_iter().zip(&cases) {
        let result = a.await.unwrap();
        assert!(
            matches!(result, Err(AppendError::Unavailable(_))),
            "{}: {result:?}",
            c.stream
        );
    }
    proxy.arm(None);

    // Settle each cut transaction: its server process has ended.
    let cuts = proxy.cuts.load(Ordering::SeqCst);
    assert!(cuts > 0, "the proxy cut no COMMIT");
    for _ in 0..cuts {
        let r = tokio::time::timeout(Duration::from_secs(10), proxy.reports.recv())
            .await
            .expect("the server did not answer a cut COMMIT")
            .unwrap();
        let said = r.server_said.as_deref();
        match cut {
            Cut::AfterForwarding => assert_eq!(said, Some("COMMIT"), "the server commits"),
            Cut::BeforeForwarding => assert_eq!(said, None),
        }
        backend_gone(&admin, r.backend_pid).await;
    }

    // All of each batch, or none of it.
    let stored = cut == Cut::AfterForwarding;
    let before_retry = assert_log(&direct, &cases, stored).await;
    let next: i64 = admin
        .query_one("SELECT next_position FROM log_partitions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        next as usize,
        before_retry.len(),
        "the head row matches the rows"
    );

    // Retrying with the same ids stores each batch exactly once; the retry of a
    // batch the cut COMMIT stored is answered with its original places.
    let mut outcomes: Vec<AppendOutcome> = Vec::new();
    for c in &cases {
        let o = log
            .append(&c.stream, c.expected, c.events.clone())
            .await
            .unwrap_or_else(|e| panic!("{}: the retry failed: {e}", c.stream));
        assert_eq!(o.already_appended, stored, "{}: {o:?}", c.stream);
        outcomes.push(o);
    }
    let after_retry = assert_log(&direct, &cases, true).await;
    if stored {
        assert_eq!(
            after_retry.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            before_retry.iter().map(|e| e.event_id).collect::<Vec<_>>(),
            "the retry wrote nothing"
        );
    }
    for (c, o) in cases.iter().zip(&outcomes) {
        let at = after_retry
            .iter()
            .find(|e| e.event_id == c.events[0].event_id)
            .unwrap();
        assert_eq!(o.first_position, at.position);
        assert_eq!(
            o.last_position,
            Position(at.position.0 + c.events.len() as u64 - 1)
        );
        assert_eq!(o.first_revision, at.revision);
    }
    // A second retry is recognised too.
    for (c, o) in cases.iter().zip(&outcomes) {
        let again = log
            .append(&c.stream, c.expected, c.events.clone())
            .await
            .unwrap();
        assert!(again.already_appended);
        assert_eq!(
            (again.first_position, again.last_position),
            (o.first_position, o.last_position)
        );
    }

    // Both nodes' subscribers saw every event once, in position order, and
    // nothing after it.
    for s in subscribers {
        let (seen, mut sub) = tokio::time::timeout(Duration::from_secs(20), s)
            .await
            .expect("a subscriber did not see every event")
            .unwrap();
        assert_eq!(
            seen.iter()
                .map(|e| (e.position, e.event_id))
                .collect::<Vec<_>>(),
            after_retry
                .iter()
                .map(|e| (e.position, e.event_id))
                .collect::<Vec<_>>()
        );
        // (`CaughtUp` may still come if the subscription never ran dry.)
        let more = async {
            loop {
                match sub.next().await {
                    Ok(SubscriptionMessage::CaughtUp) => continue,
                    other => return other,
                }
            }
        };
        let extra = tokio::time::timeout(Duration::from_millis(300), more).await;
        assert!(extra.is_err(), "a subscriber saw more: {extra:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commit_that_reached_the_server_is_recognised_on_retry() {
    connection_cut_at_commit(Cut::AfterForwarding).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commit_that_never_reached_the_server_is_appended_on_retry() {
    connection_cut_at_commit(Cut::BeforeForwarding).await;
}
