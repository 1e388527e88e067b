//! One str0m `Rtc` (a peer's publish or subscribe connection) and the state
//! the transport keeps beside it: when it wants a timeout, whether it has
//! connected, and since when ICE has been disconnected.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use caucus_media::Target;
use str0m::net::Transmit;
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

/// A connection's fate, decided while draining it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Alive,
    /// ICE+DTLS came up during this drain.
    JustConnected,
    Failed(String),
}

#[derive(Debug)]
pub struct Conn {
    pub rtc: Rtc,
    pub target: Target,
    pub next_timeout: Instant,
    pub connected: bool,
    pub disconnected_since: Option<Instant>,
    pub failed: bool,
}

impl Conn {
    /// A server-side `Rtc` in RTP mode with the advertised host candidates.
    pub fn new(target: Target, candidates: &[SocketAddr], now: Instant) -> Self {
        // Default codecs (Opus, VP8, VP9, H264, …); RTP mode: the SFU moves
        // packets, never frames.
        let mut rtc = Rtc::builder().set_rtp_mode(true).build(now);
        for addr in candidates {
            match Candidate::host(*addr, "udp") {
                Ok(c) => {
                    rtc.add_local_candidate(c);
                }
                Err(e) => tracing::warn!(%addr, error = %e, "host candidate refused"),
            }
        }
        Self {
            rtc,
            target,
            next_timeout: now,
            connected: false,
            disconnected_since: None,
            failed: false,
        }
    }

    /// Drains `poll_output` until `Timeout` (str0m's one invariant): datagrams
    /// go to `out`, events to `events`. Returns what became of the connection.
    pub fn drain(
        &mut self,
        now: Instant,
        out: &mut VecDeque<Transmit>,
        events: &mut Vec<Event>,
    ) -> Health {
        let mut health = Health::Alive;
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    break;
                }
                Ok(Output::Transmit(t)) => out.push_back(t),
                Ok(Output::Event(e)) => {
                    match &e {
                        Event::Connected if !self.connected => {
                            self.connected = true;
                            health = Health::JustConnected;
                        }
                        Event::IceConnectionStateChange(s) => match s {
                            IceConnectionState::Disconnected => {
                                self.disconnected_since.get_or_insert(now);
                            }
                            _ => self.disconnected_since = None,
                        },
                        Event::Closed => {
                            health = Health::Failed("closed by the remote peer".into());
                        }
                        _ => {}
                    }
                    events.push(e);
                }
                Err(e) => {
                    health = Health::Failed(format!("rtc error: {e}"));
                    break;
                }
            }
        }
        if health == Health::Alive && !self.rtc.is_alive() {
            health = Health::Failed("connection closed".into());
        }
        health
    }

    /// Fails the connection when ICE stayed disconnected for `limit`.
    pub fn check_disconnect(&self, now: Instant, limit: Duration) -> Option<String> {
        let since = self.disconnected_since?;
        (now.saturating_duration_since(since) >= limit)
            .then(|| format!("ICE disconnected for {} ms", limit.as_millis()))
    }

    /// The next instant this connection needs attention.
    pub fn deadline(&self, limit: Duration) -> Instant {
        match self.disconnected_since {
            Some(since) => self.next_timeout.min(since + limit),
            None => self.next_timeout,
        }
    }

    /// Feeds a timeout (always accepted by str0m).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), String> {
        self.rtc
            .handle_input(Input::Timeout(now))
            .map_err(|e| e.to_string())
    }
}
