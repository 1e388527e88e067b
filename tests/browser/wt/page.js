// The WebTransport test page: a publisher (fake camera → MediaStreamTrackProcessor →
// VideoEncoder VP8 → one group stream per keyframe) or a subscriber (group streams →
// VideoDecoder VP8), both on caucus-wt.js. The test drives it through `window.wtPage`.
import { CaucusSession, GroupWriter, readObject } from './caucus-wt.js';

const state = {
  role: null,
  joined: false,
  errors: [],
  notifications: [],
  pub: null,
  sub: null,
};

function connect(opts) {
  return CaucusSession.connect({
    url: opts.url,
    certificateSha256: opts.certificateSha256,
    token: opts.token,
    peer: opts.peer,
  });
}

let session = null;

/** Joins and publishes the fake camera as one VP8 track (alias 0). */
async function publish(opts) {
  const { name = 'wt-publisher', keyframeEvery = 1000, bitrate = 600_000 } = opts;
  state.role = 'publisher';
  const s = (session = await connect(opts));
  const alias = 0;
  const pub = (state.pub = {
    trackId: crypto.randomUUID(),
    streamId: crypto.randomUUID(),
    alias,
    width: 0,
    height: 0,
    framesCaptured: 0,
    framesDropped: 0,
    framesEncoded: 0,
    keyframes: 0,
    keyTimestamps: [], // object timestamps (90 kHz) of the keyframes sent
    answeredTimestamps: [], // … of those forced by a keyframe-request
    keyframeRequests: 0,
    groups: 0,
    objects: 0,
    bytes: 0,
    writeErrors: 0,
    hello: s.hello,
  });
  let forceKey = 'start'; // or 'request' (a keyframe-request), or null
  const requested = new Set(); // capture timestamps of frames encoded as requested keyframes
  s.onNotification = (method, params) => {
    state.notifications.push(method);
    if (method === 'keyframe-request' && params.alias === alias) {
      pub.keyframeRequests++;
      forceKey = 'request';
    }
  };
  await s.join(name);
  state.joined = true;

  const media = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  const track = media.getVideoTracks()[0];
  const settings = track.getSettings();
  pub.width = settings.width;
  pub.height = settings.height;

  const writer = new GroupWriter(s.wt, alias, 128);
  let t0 = null;
  const encoder = new VideoEncoder({
    output: chunk => {
      const data = new Uint8Array(chunk.byteLength);
      chunk.copyTo(data);
      if (t0 === null) {
        t0 = chunk.timestamp;
      }
      const ts = Math.max(0, Math.round(((chunk.timestamp - t0) * 90000) / 1e6));
      const key = chunk.type === 'key';
      if (writer.frame(ts, key, data)) {
        pub.framesEncoded++;
        if (key) {
          pub.keyframes++;
          pub.keyTimestamps.push(ts);
          if (requested.delete(chunk.timestamp)) {
            pub.answeredTimestamps.push(ts);
          }
        }
      }
    },
    error: e => state.errors.push(`encoder: ${e.message}`),
  });
  encoder.configure({
    codec: 'vp8',
    width: pub.width,
    height: pub.height,
    bitrate,
    framerate: settings.frameRate || 20,
    latencyMode: 'realtime',
  });

  await s.publish({
    [pub.trackId]: {
      track_id: pub.trackId,
      stream_id: pub.streamId,
      mute: false,
      type: 'video',
      source: 'regular',
      description: '',
      alias,
      codec: 'vp8',
      timescale: 90000,
    },
  });

  const frames = new MediaStreamTrackProcessor({ track }).readable.getReader();
  let lastKey = -Infinity;
  pub.stop = () => {
    pub.stopped = true;
    frames.cancel().catch(() => {});
    track.stop();
  };
  (async () => {
    try {
      for (;;) {
        const { value: frame, done } = await frames.read();
        if (done || pub.stopped) {
          frame && frame.close();
          break;
        }
        pub.framesCaptured++;
        if (encoder.state !== 'configured' || encoder.encodeQueueSize > 2) {
          pub.framesDropped++;
          frame.close();
          continue;
        }
        const keyFrame = !!forceKey || frame.timestamp - lastKey >= keyframeEvery * 1000;
        if (forceKey === 'request') {
          requested.add(frame.timestamp);
        }
        if (keyFrame) {
          forceKey = null;
          lastKey = frame.timestamp;
        }
        encoder.encode(frame, { keyFrame });
        frame.close();
      }
    } catch (e) {
      state.errors.push(`capture: ${e.message}`);
    }
    if (encoder.state === 'configured') {
      await encoder.flush().catch(() => {});
      encoder.close();
    }
    await writer.close();
  })();
  pub.writer = writer;
  return { trackId: pub.trackId, width: pub.width, height: pub.height, hello: s.hello };
}

/** Joins, and decodes every video track the server sends. */
async function subscribe(opts) {
  const { name = 'wt-subscriber' } = opts;
  state.role = 'subscriber';
  const s = (session = await connect(opts));
  const sub = (state.sub = {
    tracks: {}, // alias → media-track params
    decoders: {}, // alias → decoding state (below)
    groups: 0,
    objects: 0,
    unknownAlias: 0,
    staleGroups: 0,
    groupErrors: [],
  });
  const waiters = new Map();
  s.onNotification = (method, params) => {
    state.notifications.push(method);
    if (method === 'media-track') {
      sub.tracks[params.alias] = params;
      for (const w of waiters.get(params.alias) || []) {
        w(params);
      }
      waiters.delete(params.alias);
    } else if (method === 'media-track-end') {
      delete sub.tracks[params.alias];
    }
  };
  // A group may overtake its `media-track`: wait for it up to 2 s (as the SDK does).
  const known = alias =>
    sub.tracks[alias]
      ? Promise.resolve(sub.tracks[alias])
      : new Promise(resolve => {
          const list = waiters.get(alias) || [];
          list.push(resolve);
          waiters.set(alias, list);
          setTimeout(() => resolve(null), 2000);
        });
  s.onGroup = async (h, r) => {
    const info = await known(h.alias);
    if (!info) {
      sub.unknownAlias++;
      r.cancel();
      return;
    }
    if (info.kind !== 'video' || info.codec !== 'vp8') {
      r.cancel();
      return;
    }
    await decodeGroup(sub, info, h, r);
  };
  await s.join(name);
  state.joined = true;
  return { hello: s.hello };
}

function decoderFor(sub, alias) {
  let d = sub.decoders[alias];
  if (!d) {
    d = sub.decoders[alias] = {
      decoder: null,
      group: -1,
      needKey: true,
      decoded: 0,
      chunks: 0,
      keyframes: 0,
      codedWidth: 0,
      codedHeight: 0,
      displayWidth: 0,
      displayHeight: 0,
      errors: [],
      restarts: 0,
      outputs: [], // timestamps (µs) of the last decoded frames
    };
  }
  if (!d.decoder || d.decoder.state === 'closed') {
    if (d.decoder) {
      d.restarts++;
    }
    d.decoder = new VideoDecoder({
      output: frame => {
        d.decoded++;
        d.outputs.push(frame.timestamp);
        if (d.outputs.length > 4000) {
          d.outputs.splice(0, 2000);
        }
        d.codedWidth = frame.codedWidth;
        d.codedHeight = frame.codedHeight;
        d.displayWidth = frame.displayWidth;
        d.displayHeight = frame.displayHeight;
        frame.close();
      },
      error: e => d.errors.push(e.message),
    });
    d.decoder.configure({ codec: 'vp8', optimizeForLatency: true });
    d.needKey = true;
  }
  return d;
}

/** Feeds one group's objects to the track's decoder; a newer group of the
 * same track takes over (this one stops being read). */
async function decodeGroup(sub, info, h, r) {
  const alias = h.alias;
  const d0 = decoderFor(sub, alias);
  if (h.group <= d0.group) {
    sub.staleGroups++;
    r.cancel();
    return;
  }
  d0.group = h.group;
  sub.groups++;
  let index = 0;
  try {
    for (;;) {
      const o = await readObject(r);
      if (!o) {
        break;
      }
      const d = decoderFor(sub, alias);
      if (d.group !== h.group) {
        r.cancel();
        return; // superseded by a newer group
      }
      sub.objects++;
      if (index === 0 && !o.keyframe) {
        sub.groupErrors.push(`group ${h.group} starts without a keyframe`);
      }
      index++;
      if (d.needKey && !o.keyframe) {
        continue;
      }
      d.needKey = false;
      if (o.keyframe) {
        d.keyframes++;
      }
      d.chunks++;
      d.decoder.decode(
        new EncodedVideoChunk({
          type: o.keyframe ? 'key' : 'delta',
          timestamp: Math.round((o.timestamp * 1e6) / (info.timescale || 90000)),
          data: o.payload,
        })
      );
    }
  } catch (e) {
    // A reset group (the server's SUPERSEDED) ends here; the next group starts with a keyframe.
    sub.groupErrors.push(`group ${h.group}: ${e.message || e}`);
    const d = sub.decoders[alias];
    if (d && d.group === h.group) {
      d.needKey = true;
    }
  }
}

/** Plain numbers for the test. */
function stats() {
  const out = {
    role: state.role,
    joined: state.joined,
    errors: [...state.errors, ...(session ? session.errors : [])],
    notifications: state.notifications.slice(),
    closed: session ? session.closedInfo : null,
  };
  if (state.pub) {
    const { stop, writer, ...p } = state.pub;
    out.pub = {
      ...p,
      groups: writer ? writer.groupsOpened : 0,
      objects: writer ? writer.objectsSent : 0,
      bytes: writer ? writer.bytesSent : 0,
      writeErrors: writer ? writer.errors.slice(0, 5) : [],
    };
  }
  if (state.sub) {
    const decoders = {};
    for (const [alias, d] of Object.entries(state.sub.decoders)) {
      const { decoder, outputs, ...rest } = d;
      decoders[alias] = { ...rest, state: decoder ? decoder.state : null };
    }
    out.sub = { ...state.sub, decoders, groupErrors: state.sub.groupErrors.slice(-10) };
  }
  return out;
}

/** How many of the last frames decoded from `alias` have a timestamp at or
 * after `timestamp` (in the track's timescale). */
function decodedSince(alias, timestamp) {
  const d = state.sub && state.sub.decoders[alias];
  const info = state.sub && state.sub.tracks[alias];
  if (!d) {
    return 0;
  }
  const us = Math.round((timestamp * 1e6) / ((info && info.timescale) || 90000));
  return d.outputs.filter(t => t >= us).length;
}

async function leave() {
  if (state.pub && state.pub.stop) {
    state.pub.stop();
  }
  if (session) {
    await session.leave();
  }
}

window.wtPage = { publish, subscribe, stats, decodedSince, leave };
