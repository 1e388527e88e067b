//! `caucus serve`: open the store, start the engine, run until SIGTERM/Ctrl-C,
//! then flush and close.

use std::sync::Arc;
use std::time::Duration;

use caucus_domain::room::Tick;
use caucus_domain::{RoomCommand, Timestamp};
use caucus_eventlog::Metadata;
use caucus_projections::Engine;

use crate::cli::{LogFormat, ServeArgs};

pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAUCUS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let stop = shutdown_signal()?;
    let store = crate::store::open(&args.store).await?;
    let http = crate::http::start(
        &args.store.data,
        args.http,
        store.log.clone(),
        store.snapshots.clone(),
        args.dev,
        &args.media,
    )
    .await?;
    let engine = http.engine.clone();
    let totals = engine.live.read(|l| l.totals());
    tracing::info!(store = %store.description, rooms = totals.rooms, "engine started");
    println!(
        "Caucus is running on the {} at http://{}.",
        store.description, http.addr
    );
    println!(
        "Clients join at http://{}/init (100ms initEndpoint); WebRTC media on udp {}.",
        http.addr,
        http.webrtc.local_addr()
    );
    let ticker = tokio::spawn(tick_sessions(engine.clone()));

    stop.await;
    tracing::info!("shutting down: no new requests; finishing those in flight");
    http.shutdown().await;
    ticker.abort();
    engine.shutdown().await;
    drop(engine);
    store.close().await;
    tracing::info!("log flushed and closed");
    Ok(())
}

/// How often open sessions are checked against their maximum duration.
const TICK: Duration = Duration::from_secs(15);

/// Sends `Tick` to every room with an open session, so sessions close when they
/// reach the room's maximum duration even if nobody acts.
async fn tick_sessions(engine: Arc<Engine>) {
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        let now = now();
        let rooms: Vec<_> = engine.live.read(|l| {
            l.active_rooms()
                .filter_map(|r| r.room.as_ref().map(|i| i.id.to_string()))
                .collect()
        });
        for room in rooms {
            let cmd = RoomCommand::Tick(Tick { now });
            let meta = Metadata {
                actor: Some("system".into()),
                ..Metadata::default()
            };
            if let Err(e) = engine.rooms.execute(&room, cmd, meta).await {
                tracing::warn!(%room, error = %e, "session tick failed");
            }
        }
    }
}

/// The wall clock as a domain timestamp.
pub fn now() -> Timestamp {
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    Timestamp::from_unix_micros(us)
}

/// Registers for SIGTERM and SIGINT now, so a signal that arrives while the
/// server is still starting is not lost (nor kills it uncleanly); the returned
/// future completes on the first one.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
    })
}
