//! The thin I/O driver around the sans-IO [`Sfu`]: one UDP socket, one
//! command channel and one timer, on a dedicated thread with its own
//! current-thread runtime (the packet loop never competes with the
//! server's tasks for a worker).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use caucus_domain::{PeerId, RoomId};
use caucus_media::{
    Bridge, Crossing, ForwardingPlan, PeerEvent, SessionDescription, Target, TransportError,
};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::core::Sfu;

/// Largest datagram read (above any path MTU).
const RECV_BUFFER: usize = 2048;

/// A request from a [`WebRtcTransport`](crate::WebRtcTransport) handle.
#[derive(Debug)]
pub enum Command {
    Attach {
        room: RoomId,
        peer: PeerId,
        events: mpsc::Sender<PeerEvent>,
        reply: oneshot::Sender<()>,
    },
    PublishOffer {
        peer: PeerId,
        offer: SessionDescription,
        reply: oneshot::Sender<Result<SessionDescription, TransportError>>,
    },
    SubscribeAnswer {
        peer: PeerId,
        answer: SessionDescription,
        reply: oneshot::Sender<Result<(), TransportError>>,
    },
    Trickle {
        peer: PeerId,
        target: Target,
        candidate: String,
        reply: oneshot::Sender<Result<(), TransportError>>,
    },
    SetPlan {
        room: RoomId,
        plan: ForwardingPlan,
        reply: oneshot::Sender<()>,
    },
    Detach {
        peer: PeerId,
        reply: oneshot::Sender<()>,
    },
    /// Where this core's crossings go from now on (§9).
    SetBridge(Arc<dyn Bridge>),
    /// Media or a keyframe request from the other transport.
    Cross(Crossing),
}

/// Runs until every command sender is gone.
pub async fn run(
    mut sfu: Sfu,
    socket: UdpSocket,
    destination: SocketAddr,
    mut commands: mpsc::Receiver<Command>,
) {
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut bridge: Option<Arc<dyn Bridge>> = None;
    loop {
        while let Some(c) = sfu.poll_crossing() {
            if let Some(b) = &bridge {
                b.send(c);
            }
        }
        if let Err(e) = flush(&mut sfu, &socket).await {
            tracing::warn!(error = %e, "send failed");
        }
        let deadline = sfu.poll_timeout();
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(t.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            cmd = commands.recv() => match cmd {
                Some(Command::SetBridge(b)) => bridge = Some(b),
                Some(cmd) => handle(&mut sfu, cmd, Instant::now()),
                None => break,
            },
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, source)) => {
                    sfu.handle_receive(Instant::now(), source, destination, &buf[..n]);
                }
                Err(e) => tracing::debug!(error = %e, "recv failed"),
            },
            () = sleep => sfu.handle_timeout(Instant::now()),
        }
        let now = Instant::now();
        if sfu.poll_timeout().is_some_and(|t| t <= now) {
            sfu.handle_timeout(now);
        }
    }
    tracing::debug!("webrtc driver stopped");
}

async fn flush(sfu: &mut Sfu, socket: &UdpSocket) -> io::Result<()> {
    while let Some(t) = sfu.poll_transmit() {
        socket.send_to(&t.contents, t.destination).await?;
    }
    Ok(())
}

fn handle(sfu: &mut Sfu, cmd: Command, now: Instant) {
    // A dropped reply receiver (the caller gave up) is not an error here.
    match cmd {
        Command::Attach {
            room,
            peer,
            events,
            reply,
        } => {
            sfu.attach(&room, &peer, events, now);
            let _ = reply.send(());
        }
        Command::PublishOffer { peer, offer, reply } => {
            let _ = reply.send(sfu.publish_offer(&peer, &offer, now));
        }
        Command::SubscribeAnswer {
            peer,
            answer,
            reply,
        } => {
            let _ = reply.send(sfu.subscribe_answer(&peer, &answer, now));
        }
        Command::Trickle {
            peer,
            target,
            candidate,
            reply,
        } => {
            let _ = reply.send(sfu.trickle(&peer, target, &candidate, now));
        }
        Command::SetPlan { room, plan, reply } => {
            sfu.set_plan(&room, plan, now);
            let _ = reply.send(());
        }
        Command::Detach { peer, reply } => {
            sfu.detach(&peer, now);
            let _ = reply.send(());
        }
        Command::Cross(c) => sfu.handle_crossing(c, now),
        Command::SetBridge(_) => {} // kept by the loop
    }
}
