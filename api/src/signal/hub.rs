//! The room hub: one consumer of the log per server that folds every room
//! event into its own copy of the room's state, turns each event into
//! notifications for that room's sockets, and keeps the media transport's
//! forwarding plan equal to what the log says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use caucus_domain::{Aggregate, Room, RoomEvent, RoomId, RoomState};
use caucus_eventlog::{EventLog, Filter, Position, Subscription, SubscriptionMessage};
use caucus_media::{ForwardingPlan, Transport};
use caucus_projections::{decode_event, entity_id};
use tokio::sync::{broadcast, watch};

use super::notify::{Outgoing, notifications};

/// The notifications of one event, with its log position.
#[derive(Debug)]
pub struct Batch {
    pub position: Position,
    pub outgoing: Vec<Outgoing>,
}

/// How many batches a slow socket may fall behind before it is closed (the
/// client reconnects and gets a fresh `peer-list`).
const CHANNEL: usize = 1024;

#[derive(Debug)]
pub struct Hub {
    rooms: RwLock<HashMap<RoomId, (Position, Arc<RoomState>)>>,
    plans: Mutex<HashMap<RoomId, ForwardingPlan>>,
    channels: Mutex<HashMap<RoomId, broadcast::Sender<Arc<Batch>>>>,
    position: watch::Sender<Option<Position>>,
    failed: watch::Sender<Option<String>>,
}

impl Hub {
    /// Reads the whole log, then follows it; returns once caught up, with the
    /// rooms that have peers (they have no sockets yet after a restart).
    pub async fn start(
        log: Arc<dyn EventLog>,
        transports: Vec<Arc<dyn Transport>>,
    ) -> Result<(Arc<Self>, Vec<(RoomId, Arc<RoomState>)>), String> {
        let hub = Arc::new(Self {
            rooms: RwLock::default(),
            plans: Mutex::default(),
            channels: Mutex::default(),
            position: watch::channel(None).0,
            failed: watch::channel(None).0,
        });
        let mut sub = Subscription::new(log, None, Filter::Category(Room::CATEGORY.into()));
        while let SubscriptionMessage::Event(e) = sub.next().await.map_err(|e| e.to_string())? {
            hub.apply(&e, false)?;
        }
        hub.position.send_replace(sub.cursor());
        let occupied: Vec<(RoomId, Arc<RoomState>)> = hub
            .read_rooms()
            .iter()
            .filter(|(_, (_, s))| !s.peers.is_empty())
            .map(|(id, (_, s))| (id.clone(), s.clone()))
            .collect();
        for (id, s) in &occupied {
            hub.replan(id, s, &transports).await;
        }
        let h = hub.clone();
        tokio::spawn(async move {
            loop {
                match sub.next().await {
                    Ok(SubscriptionMessage::Event(e)) => {
                        match h.apply(&e, true) {
                            Ok(Some((room, state))) => h.replan(&room, &state, &transports).await,
                            Ok(None) => {}
                            Err(why) => {
                                tracing::error!(%why, "room hub stopped");
                                h.failed.send_replace(Some(why));
                                return;
                            }
                        }
                        h.position.send_replace(Some(e.position));
                    }
                    Ok(SubscriptionMessage::CaughtUp) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "room hub cannot read the log");
                        h.failed.send_replace(Some(e.to_string()));
                        return;
                    }
                }
            }
        });
        Ok((hub, occupied))
    }

    fn read_rooms(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<RoomId, (Position, Arc<RoomState>)>> {
        self.rooms.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Folds one event; when `live`, publishes its notifications. Returns the
    /// room and its new state.
    fn apply(
        &self,
        recorded: &caucus_eventlog::RecordedEvent,
        live: bool,
    ) -> Result<Option<(RoomId, Arc<RoomState>)>, String> {
        let Some(room) = entity_id::<RoomId>(recorded) else {
            return Ok(None);
        };
        let event: RoomEvent = decode_event(recorded).map_err(|e| e.to_string())?;
        let before = self
            .read_rooms()
            .get(&room)
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        let mut after = (*before).clone();
        Room::apply(&mut after, &event);
        let after = Arc::new(after);
        self.rooms
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(room.clone(), (recorded.position, after.clone()));
        if live {
            let outgoing = notifications(&event, &before, &after);
            if !outgoing.is_empty() {
                let channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(tx) = channels.get(&room) {
                    let _ = tx.send(Arc::new(Batch {
                        position: recorded.position,
                        outgoing,
                    }));
                }
            }
        }
        Ok(Some((room, after)))
    }

    /// Hands every transport the room's plan when it changed (each acts on
    /// its own peers).
    async fn replan(&self, room: &RoomId, state: &RoomState, transports: &[Arc<dyn Transport>]) {
        let plan = ForwardingPlan::from_room(state);
        {
            let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
            if plans.get(room) == Some(&plan) {
                return;
            }
            if plan.tracks.is_empty() {
                plans.remove(room);
            } else {
                plans.insert(room.clone(), plan.clone());
            }
        }
        for t in transports {
            t.set_plan(room, plan.clone()).await;
        }
    }

    /// The room's state and the position of its last event.
    pub fn room(&self, room: &RoomId) -> Option<(Position, Arc<RoomState>)> {
        self.read_rooms().get(room).cloned()
    }

    /// The room's notifications from now on.
    pub fn subscribe(&self, room: &RoomId) -> broadcast::Receiver<Arc<Batch>> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels.retain(|_, tx| tx.receiver_count() > 0);
        channels
            .entry(room.clone())
            .or_insert_with(|| broadcast::channel(CHANNEL).0)
            .subscribe()
    }

    /// Waits until the hub has applied the event at `position`.
    pub async fn wait_for(&self, position: Position) -> Result<(), String> {
        let mut rx = self.position.subscribe();
        let mut failed = self.failed.subscribe();
        loop {
            if rx.borrow_and_update().is_some_and(|p| p >= position) {
                return Ok(());
            }
            if let Some(why) = failed.borrow_and_update().clone() {
                return Err(why);
            }
            tokio::select! {
                r = rx.changed() => r.map_err(|_| "room hub stopped".to_owned())?,
                r = failed.changed() => r.map_err(|_| "room hub stopped".to_owned())?,
            }
        }
    }
}
