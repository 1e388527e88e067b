//! [`WebRtcTransport`]: the handle the signalling holds; every method is a
//! message to the driver and an awaited reply.

use std::io;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::Arc;

use async_trait::async_trait;
use caucus_domain::{PeerId, RoomId};
use caucus_media::{
    Bridge, Crossing, ForwardingPlan, IceCandidate, PeerEvent, SessionDescription, Target,
    Transport, TransportError,
};
use tokio::sync::{mpsc, oneshot};

use crate::config::WebRtcConfig;
use crate::core::Sfu;
use crate::driver::{self, Command};
use crate::stats::{Stats, StatsSnapshot};

/// Binds a non-blocking UDP socket and asks for `buffer` bytes of receive
/// and send buffer (the kernel may grant less: the granted sizes are logged).
fn bind(addr: SocketAddr, buffer: usize) -> io::Result<StdUdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_recv_buffer_size(buffer)?;
    socket.set_send_buffer_size(buffer)?;
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    tracing::debug!(
        recv = socket.recv_buffer_size()?,
        send = socket.send_buffer_size()?,
        "webrtc socket buffers"
    );
    Ok(socket.into())
}

/// Commands queued to the driver before senders wait.
const COMMAND_QUEUE: usize = 1024;

/// The WebRTC SFU: one UDP socket and one driver thread for all peers.
#[derive(Debug)]
pub struct WebRtcTransport {
    commands: mpsc::Sender<Command>,
    local_addr: SocketAddr,
    stats: Arc<Stats>,
    event_capacity: usize,
}

impl WebRtcTransport {
    /// Binds the socket and starts the driver thread. The driver stops when
    /// the last handle is dropped.
    pub fn start(config: WebRtcConfig) -> io::Result<Arc<Self>> {
        let std_socket = bind(config.bind, config.socket_buffer)?;
        let local_addr = std_socket.local_addr()?;
        let candidates: Vec<SocketAddr> = if config.advertise.is_empty() {
            if local_addr.ip().is_unspecified() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "bound to an unspecified address with nothing to advertise",
                ));
            }
            vec![local_addr]
        } else {
            config
                .advertise
                .iter()
                .map(|ip| SocketAddr::new(*ip, local_addr.port()))
                .collect()
        };
        // The address str0m is told datagrams arrive at: the socket's own,
        // or the first advertised one when bound to a wildcard.
        let destination = if local_addr.ip().is_unspecified() {
            candidates[0]
        } else {
            local_addr
        };
        let stats = Arc::new(Stats::default());
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        let event_capacity = config.event_capacity.max(1);
        let sfu = Sfu::new(config, candidates, stats.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("caucus-webrtc".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::UdpSocket::from_std(std_socket) {
                        Ok(socket) => driver::run(sfu, socket, destination, rx).await,
                        Err(e) => tracing::error!(error = %e, "socket refused by the runtime"),
                    }
                })
            })?;
        Ok(Arc::new(Self {
            commands: tx,
            local_addr,
            stats,
            event_capacity,
        }))
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Sends this transport's crossings (its publishers' media for peers
    /// another transport serves, keyframe requests for tracks published
    /// there) to `other` (docs/quic-protocol.md §9).
    pub async fn set_bridge(&self, other: Arc<dyn Bridge>) {
        let _ = self.commands.send(Command::SetBridge(other)).await;
    }

    /// Where another transport sends its crossings to this one. Holds no
    /// strong reference: the driver still stops with the last handle.
    pub fn bridge_inlet(&self) -> Arc<dyn Bridge> {
        Arc::new(Inlet {
            commands: self.commands.downgrade(),
        })
    }

    /// Counters of the data path (no call into the driver).
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, TransportError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| TransportError::Closed)?;
        rx.await.map_err(|_| TransportError::Closed)
    }
}

/// The other transport's way in: a command per crossing, dropped when the
/// driver is behind (a video receiver recovers at the next keyframe).
#[derive(Debug)]
struct Inlet {
    commands: mpsc::WeakSender<Command>,
}

impl Bridge for Inlet {
    fn send(&self, crossing: Crossing) {
        if let Some(tx) = self.commands.upgrade() {
            let _ = tx.try_send(Command::Cross(crossing));
        }
    }
}

#[async_trait]
impl Transport for WebRtcTransport {
    async fn attach(
        &self,
        room: &RoomId,
        peer: &PeerId,
    ) -> Result<mpsc::Receiver<PeerEvent>, TransportError> {
        let (events, rx) = mpsc::channel(self.event_capacity);
        self.call(|reply| Command::Attach {
            room: room.clone(),
            peer: peer.clone(),
            events,
            reply,
        })
        .await?;
        Ok(rx)
    }

    async fn publish_offer(
        &self,
        peer: &PeerId,
        offer: &SessionDescription,
    ) -> Result<SessionDescription, TransportError> {
        self.call(|reply| Command::PublishOffer {
            peer: peer.clone(),
            offer: offer.clone(),
            reply,
        })
        .await?
    }

    async fn subscribe_answer(
        &self,
        peer: &PeerId,
        answer: &SessionDescription,
    ) -> Result<(), TransportError> {
        self.call(|reply| Command::SubscribeAnswer {
            peer: peer.clone(),
            answer: answer.clone(),
            reply,
        })
        .await?
    }

    async fn trickle(
        &self,
        peer: &PeerId,
        target: Target,
        candidate: &IceCandidate,
    ) -> Result<(), TransportError> {
        self.call(|reply| Command::Trickle {
            peer: peer.clone(),
            target,
            candidate: candidate.candidate.clone(),
            reply,
        })
        .await?
    }

    async fn set_plan(&self, room: &RoomId, plan: ForwardingPlan) {
        let _ = self
            .call(|reply| Command::SetPlan {
                room: room.clone(),
                plan,
                reply,
            })
            .await;
    }

    async fn detach(&self, peer: &PeerId) {
        let _ = self
            .call(|reply| Command::Detach {
                peer: peer.clone(),
                reply,
            })
            .await;
    }
}
