//! The `ion-sfu` data channel on a subscribe connection: layer and audio
//! preferences per received track, each answered on the channel.

use std::time::Instant;

use caucus_domain::PeerId;
use caucus_media::Target;
use str0m::channel::ChannelData;

use super::Sfu;
use crate::prefer::{self, Want};

impl Sfu {
    /// A message on the subscriber's data channel.
    pub(super) fn on_channel(&mut self, subscriber: &PeerId, d: ChannelData, now: Instant) {
        let reply = match prefer::parse(&d.data) {
            Ok(None) => return,
            Err(reply) => reply,
            Ok(Some(req)) => self.prefer(subscriber, &req, now),
        };
        let Some(conn) = self
            .peers
            .get_mut(subscriber)
            .and_then(|p| p.subscribe.as_mut())
        else {
            return;
        };
        match conn
            .rtc
            .channel(d.id)
            .map(|mut c| c.write(false, reply.as_bytes()))
        {
            Some(Ok(true)) => {}
            other => tracing::debug!(%subscriber, ?other, "data channel reply not sent"),
        }
        self.drain(subscriber, Target::Subscribe, now);
    }

    /// Applies one preference; returns the reply.
    fn prefer(&mut self, subscriber: &PeerId, req: &prefer::Request, now: Instant) -> String {
        let Some(s) = self.peers.get_mut(subscriber) else {
            return prefer::error(&req.id, 404, "no such peer");
        };
        let Some(((publisher, track), line)) = s
            .lines
            .iter_mut()
            .find(|((_, t), _)| t.as_str() == req.track)
        else {
            return prefer::error(&req.id, 404, "no such track");
        };
        let (publisher, track) = (publisher.clone(), track.clone());
        let resumed = line.fwd.paused && req.want != Want::Paused;
        if resumed {
            line.fwd.resume();
        }
        match req.want {
            Want::Layer(rank) => line.fwd.max_rank = rank,
            Want::Audio => {}
            Want::Paused => line.fwd.paused = true,
        }
        tracing::debug!(%subscriber, track = %req.track, want = ?req.want, "subscriber preference");
        // A video track coming back needs a keyframe to be decodable; a
        // layer change asks for one on its first packet of the new layer.
        if resumed {
            let layer = line.fwd.layer.flatten();
            self.request_keyframe(&publisher, &track, layer, now);
        }
        prefer::ok(&req.id)
    }
}
