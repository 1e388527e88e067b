// A small video-room app on the official 100ms web SDK (@100mslive/hms-video-store),
// unchanged: only its initEndpoint points at Caucus. It is the demo page served at
// /demo and the app the browser tests drive through `window.caucus`.
import {
  HMSNotificationTypes,
  HMSReactiveStore,
  selectHMSMessages,
  selectIsConnectedToRoom,
  selectLocalPeer,
  selectPeers,
  selectRoleChangeRequest,
  selectRoomState,
  selectTracksMap,
} from '@100mslive/hms-video-store';

// Every RTCPeerConnection the SDK opens, so the page can report inbound media
// statistics (frames decoded, audio packets) to whoever drives it.
const connections = [];
const NativePC = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativePC {
  constructor(...args) {
    super(...args);
    connections.push(this);
  }
};

const hms = new HMSReactiveStore();
hms.triggerOnSubscribe();
const store = hms.getStore();
const actions = hms.getActions();
const notifications = hms.getNotifications();

const log = [];
const errors = [];
const seen = [];
notifications.onNotification(n => {
  seen.push({ type: n.type, at: Date.now() });
  if (n.type === HMSNotificationTypes.ERROR) {
    const e = n.data || {};
    errors.push({ code: e.code, name: e.name, message: e.message, description: e.description });
    say(`error ${e.code}: ${e.message} ${e.description || ''}`);
  } else if (n.type === HMSNotificationTypes.ROOM_ENDED || n.type === HMSNotificationTypes.REMOVED_FROM_ROOM) {
    say(`${n.type}: ${(n.data && n.data.reason) || ''}`);
  } else if (n.type === HMSNotificationTypes.RECONNECTING || n.type === HMSNotificationTypes.RECONNECTED) {
    say(n.type.toLowerCase());
  }
});

function say(text) {
  log.push(text);
  const el = document.getElementById('log');
  if (el) {
    el.textContent = log.slice(-30).join('\n');
  }
}

/** The `/init` endpoint: this page's origin. The SDK insists on a string with "https://"
 * in it and only uses the origin, so a plain-http server passes a fragment. */
function initEndpoint(origin) {
  return origin.startsWith('https://') ? origin : `${origin}/#https://`;
}

async function join({ token, name = 'guest', origin = location.origin, audio = true, video = true }) {
  const started = performance.now();
  await actions.join({
    userName: name,
    authToken: token,
    initEndpoint: initEndpoint(origin),
    settings: { isAudioMuted: !audio, isVideoMuted: !video },
    rememberDeviceSelection: false,
  });
  return { ms: performance.now() - started };
}

/** Exchanges a room code for an app token at this server's `/v2/token`. */
async function tokenForCode(code, origin = location.origin) {
  const r = await fetch(`${origin}/v2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  const body = await r.json();
  if (!r.ok) {
    throw new Error(body.message || `token request failed (${r.status})`);
  }
  return body.token;
}

async function inbound() {
  const out = { framesDecoded: 0, videoPackets: 0, audioPackets: 0, videoBytes: 0, frameWidth: 0 };
  for (const pc of connections) {
    if (pc.connectionState === 'closed') {
      continue;
    }
    const stats = await pc.getStats();
    stats.forEach(s => {
      if (s.type !== 'inbound-rtp') {
        return;
      }
      if (s.kind === 'video') {
        out.framesDecoded += s.framesDecoded || 0;
        out.videoPackets += s.packetsReceived || 0;
        out.videoBytes += s.bytesReceived || 0;
        out.frameWidth = Math.max(out.frameWidth, s.frameWidth || 0);
      } else if (s.kind === 'audio') {
        out.audioPackets += s.packetsReceived || 0;
      }
    });
  }
  return out;
}

/** A plain snapshot of what the SDK's store says (what a UI would render). */
function snapshot() {
  const tracks = store.getState(selectTracksMap);
  const me = store.getState(selectLocalPeer);
  return {
    connected: store.getState(selectIsConnectedToRoom),
    roomState: store.getState(selectRoomState),
    localPeer: me ? { id: me.id, role: me.roleName, name: me.name } : null,
    peers: store.getState(selectPeers).map(p => ({
      id: p.id,
      name: p.name,
      role: p.roleName,
      isLocal: p.isLocal,
      tracks: [p.audioTrack, p.videoTrack, ...(p.auxiliaryTracks || [])]
        .filter(Boolean)
        .map(id => tracks[id])
        .filter(Boolean)
        .map(t => ({ id: t.id, type: t.type, source: t.source, enabled: t.enabled, layer: t.layer })),
    })),
    messages: store.getState(selectHMSMessages).map(m => ({ from: m.senderName, message: m.message, type: m.type })),
    roleChangeRequest: (() => {
      const r = store.getState(selectRoleChangeRequest);
      return r ? { by: r.requestedBy && r.requestedBy.id, role: r.role && r.role.name } : null;
    })(),
    errors: errors.slice(),
    notifications: seen.map(s => s.type),
  };
}

// Rendering: one tile per peer with a video element the SDK attaches to.
const tiles = new Map();
function render() {
  const root = document.getElementById('peers');
  if (!root) {
    return;
  }
  const peers = store.getState(selectPeers);
  const tracks = store.getState(selectTracksMap);
  const ids = new Set(peers.map(p => p.id));
  for (const [id, tile] of tiles) {
    if (!ids.has(id)) {
      if (tile.track) {
        actions.detachVideo(tile.track, tile.video).catch(() => {});
      }
      tile.el.remove();
      tiles.delete(id);
    }
  }
  for (const p of peers) {
    let tile = tiles.get(p.id);
    if (!tile) {
      const el = document.createElement('div');
      el.className = 'tile';
      const video = document.createElement('video');
      video.autoplay = true;
      video.muted = true;
      video.playsInline = true;
      const label = document.createElement('span');
      el.append(video, label);
      root.append(el);
      tile = { el, video, label, track: null };
      tiles.set(p.id, tile);
    }
    const v = p.videoTrack && tracks[p.videoTrack];
    const want = v && v.enabled ? v.id : null;
    if (tile.track !== want) {
      if (tile.track) {
        actions.detachVideo(tile.track, tile.video).catch(() => {});
      }
      tile.track = want;
      if (want) {
        actions.attachVideo(want, tile.video).catch(e => say(`attach: ${e.message}`));
      }
    }
    const a = p.audioTrack && tracks[p.audioTrack];
    tile.label.textContent = `${p.name}${p.isLocal ? ' (you)' : ''} · ${p.roleName}${a && !a.enabled ? ' · muted' : ''}`;
  }
  const status = document.getElementById('status');
  if (status) {
    status.textContent = store.getState(selectRoomState);
  }
  const chat = document.getElementById('chat');
  if (chat) {
    chat.textContent = store
      .getState(selectHMSMessages)
      .map(m => `${m.senderName || 'server'}: ${m.message}`)
      .join('\n');
  }
}
store.subscribe(render, selectPeers);
store.subscribe(render, selectTracksMap);
store.subscribe(render, selectRoomState);
store.subscribe(render, selectHMSMessages);
store.subscribe(r => {
  if (r && r.role) {
    say(`${(r.requestedBy && r.requestedBy.name) || 'someone'} asks you to become ${r.role.name}`);
  }
}, selectRoleChangeRequest);

async function acceptRoleChange() {
  const r = store.getState(selectRoleChangeRequest);
  if (!r) {
    throw new Error('no role change request');
  }
  await actions.acceptChangeRole(r);
}

// The hooks a test driver (or a curious user's console) uses.
window.caucus = {
  join,
  tokenForCode,
  leave: () => actions.leave(),
  setAudio: on => actions.setLocalAudioEnabled(on),
  setVideo: on => actions.setLocalVideoEnabled(on),
  setScreenShare: on => actions.setScreenShareEnabled(on),
  sendChat: text => actions.sendBroadcastMessage(text),
  changeRole: (peerId, role, force = false) => actions.changeRoleOfPeer(peerId, role, force),
  acceptRoleChange,
  endRoom: (reason = 'ended by host') => actions.endRoom(false, reason),
  removePeer: (peerId, reason = 'removed') => actions.removePeer(peerId, reason),
  preferLayer: (trackId, layer) => actions.setPreferredLayer(trackId, layer),
  snapshot,
  inbound,
  log,
};

// The demo form: a room code or an app token.
function wireForm() {
  const form = document.getElementById('join');
  if (!form) {
    return;
  }
  const params = new URLSearchParams(location.search);
  for (const k of ['code', 'token', 'name']) {
    if (params.get(k)) {
      form.elements[k].value = params.get(k);
    }
  }
  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    const f = form.elements;
    try {
      const token = f.token.value.trim() || (await tokenForCode(f.code.value.trim()));
      const { ms } = await join({ token, name: f.name.value.trim() || 'guest' });
      say(`joined in ${Math.round(ms)} ms`);
    } catch (e) {
      say(`join failed: ${e.message}`);
    }
  });
  const on = (id, f) => document.getElementById(id)?.addEventListener('click', f);
  on('mic', () => actions.setLocalAudioEnabled(!isOn('audio')));
  on('cam', () => actions.setLocalVideoEnabled(!isOn('video')));
  on('leave', () => actions.leave());
  document.getElementById('send')?.addEventListener('submit', ev => {
    ev.preventDefault();
    const input = ev.target.elements.text;
    if (input.value) {
      actions.sendBroadcastMessage(input.value);
      input.value = '';
    }
  });
}

function isOn(kind) {
  const me = store.getState(selectLocalPeer);
  const id = me && (kind === 'audio' ? me.audioTrack : me.videoTrack);
  const t = id && store.getState(selectTracksMap)[id];
  return !!(t && t.enabled);
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', wireForm);
} else {
  wireForm();
}
