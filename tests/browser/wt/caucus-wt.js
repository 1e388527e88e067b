// A minimal browser client of the Caucus media protocol over WebTransport
// (docs/quic-protocol.md): the same protocol the Rust SDK speaks over native
// QUIC, inside a WebTransport session to `/wt`.
//
// It implements
// - QUIC variable-length integers (RFC 9000 §16; §2 of the doc),
// - the control stream (§3): the session's first bidirectional stream carrying
//   `varint length ‖ JSON` JSON-RPC messages; `hello`, `join`, `publish`,
//   `ping` every 3 s, replies matched to requests, notifications to a callback,
// - group streams (§5.1): a writer that opens one unidirectional stream per
//   group (`0x10 ‖ alias ‖ group ‖ priority`, then `length ‖ timestamp ‖ flags
//   ‖ payload` objects until FIN), and a parser for the server's group streams.
//
// No datagrams are sent (audio is not published here); received ones are drained.
// Plain ES module with no dependencies: the browser tests serve it as a static
// file, and Node can import the codec parts (tests/browser/test/wt_codec.test.mjs).

export const GROUP_STREAM = 0x10;
export const MAX_MESSAGE = 1 << 20;
export const MAX_OBJECT = 4 << 20;
export const FLAG_KEYFRAME = 1;

// ---------------------------------------------------------------------------
// Varints

/** The encoded size of `v` (a non-negative integer below 2^53). */
export function varintSize(v) {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new RangeError(`not a varint: ${v}`);
  }
  return v < 0x40 ? 1 : v < 0x4000 ? 2 : v < 0x40000000 ? 4 : 8;
}

/** Writes `v` into `buf` at `at`; returns the offset after it. */
export function putVarint(buf, at, v) {
  const n = varintSize(v);
  if (n === 1) {
    buf[at] = v;
  } else if (n === 2) {
    buf[at] = 0x40 | (v >>> 8);
    buf[at + 1] = v & 0xff;
  } else if (n === 4) {
    buf[at] = 0x80 | (v >>> 24);
    buf[at + 1] = (v >>> 16) & 0xff;
    buf[at + 2] = (v >>> 8) & 0xff;
    buf[at + 3] = v & 0xff;
  } else {
    const hi = Math.floor(v / 2 ** 32);
    const lo = v >>> 0;
    buf[at] = 0xc0 | (hi >>> 24);
    buf[at + 1] = (hi >>> 16) & 0xff;
    buf[at + 2] = (hi >>> 8) & 0xff;
    buf[at + 3] = hi & 0xff;
    buf[at + 4] = lo >>> 24;
    buf[at + 5] = (lo >>> 16) & 0xff;
    buf[at + 6] = (lo >>> 8) & 0xff;
    buf[at + 7] = lo & 0xff;
  }
  return at + n;
}

export function encodeVarint(v) {
  const b = new Uint8Array(varintSize(v));
  putVarint(b, 0, v);
  return b;
}

/** Decodes a varint of `buf` at `at`: `{value, next}`, or null when `buf`
 * ends before it does. Values past 2^53 throw (never used by Caucus). */
export function getVarint(buf, at = 0) {
  if (at >= buf.length) {
    return null;
  }
  const n = 1 << (buf[at] >> 6);
  if (at + n > buf.length) {
    return null;
  }
  let v = buf[at] & 0x3f;
  for (let i = 1; i < n; i++) {
    v = v * 256 + buf[at + i];
  }
  if (!Number.isSafeInteger(v)) {
    throw new RangeError('varint beyond 2^53');
  }
  return { value: v, next: at + n };
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Framing

/** A control message: `len ‖ UTF-8 JSON`. */
export function encodeMessage(obj) {
  const json = new TextEncoder().encode(JSON.stringify(obj));
  if (json.length > MAX_MESSAGE) {
    throw new RangeError(`control message of ${json.length} bytes`);
  }
  return concat([encodeVarint(json.length), json]);
}

/** A group stream's header. */
export function encodeGroupHeader(alias, group, priority) {
  const b = new Uint8Array(varintSize(GROUP_STREAM) + varintSize(alias) + varintSize(group) + 1);
  let at = putVarint(b, 0, GROUP_STREAM);
  at = putVarint(b, at, alias);
  at = putVarint(b, at, group);
  b[at] = priority;
  return b;
}

/** One object: `length ‖ timestamp ‖ flags ‖ payload`, `length` counting
 * everything after itself. */
export function encodeObject(timestamp, keyframe, payload) {
  const body = varintSize(timestamp) + 1 + payload.length;
  const b = new Uint8Array(varintSize(body) + body);
  let at = putVarint(b, 0, body);
  at = putVarint(b, at, timestamp);
  b[at++] = keyframe ? FLAG_KEYFRAME : 0;
  b.set(payload, at);
  return b;
}

/** Buffered reads of a byte ReadableStream (a WebTransport receive stream). */
export class ByteReader {
  constructor(readable) {
    this.reader = readable.getReader();
    this.buf = new Uint8Array(0);
    this.done = false;
  }

  /** Reads until at least `n` bytes are buffered; false at the end of the stream. */
  async fill(n) {
    while (this.buf.length < n) {
      if (this.done) {
        return false;
      }
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
      } else if (value && value.length) {
        this.buf = this.buf.length ? concat([this.buf, value]) : new Uint8Array(value);
      }
    }
    return true;
  }

  /** True when the stream ended with nothing left. */
  async atEnd() {
    return !(await this.fill(1));
  }

  async varint() {
    if (!(await this.fill(1))) {
      throw new Error('stream ended before a varint');
    }
    const n = 1 << (this.buf[0] >> 6);
    if (!(await this.fill(n))) {
      throw new Error('stream ended inside a varint');
    }
    const { value, next } = getVarint(this.buf, 0);
    this.buf = this.buf.subarray(next);
    return value;
  }

  async bytes(n) {
    if (!(await this.fill(n))) {
      throw new Error(`stream ended before ${n} bytes`);
    }
    const out = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  async byte() {
    return (await this.bytes(1))[0];
  }

  cancel(reason) {
    return this.reader.cancel(reason).catch(() => {});
  }
}

/** Reads one object of a group stream: `{timestamp, keyframe, payload}`, or
 * null at the end of the stream. */
export async function readObject(r) {
  if (await r.atEnd()) {
    return null;
  }
  const length = await r.varint();
  if (length > MAX_OBJECT) {
    throw new Error(`object of ${length} bytes`);
  }
  const body = await r.bytes(length);
  const ts = getVarint(body, 0);
  if (!ts || ts.next + 1 > body.length) {
    throw new Error('object length does not cover its timestamp and flags');
  }
  const flags = body[ts.next];
  if (flags & ~FLAG_KEYFRAME) {
    throw new Error(`reserved object flags ${flags}`);
  }
  return { timestamp: ts.value, keyframe: (flags & FLAG_KEYFRAME) !== 0, payload: body.subarray(ts.next + 1) };
}

/** Reads a group stream's header: `{alias, group, priority}`. */
export async function readGroupHeader(r) {
  const type = await r.varint();
  if (type !== GROUP_STREAM) {
    throw new Error(`unknown stream type ${type}`);
  }
  const alias = await r.varint();
  const group = await r.varint();
  const priority = await r.byte();
  return { alias, group, priority };
}

// ---------------------------------------------------------------------------
// A session

/** Hex (the `/init` certificate hash) to bytes. */
export function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.substr(i * 2, 2), 16);
  }
  return out;
}

/**
 * A joined peer over WebTransport.
 *
 *   const s = await CaucusSession.connect({url, certificateSha256, token, peer});
 *   s.onNotification = (method, params) => …;
 *   s.onGroup = (header, reader) => …;     // each incoming group stream
 *   await s.join('name');
 */
export class CaucusSession {
  static async connect({ url, certificateSha256, token, peer, pingEvery = 3000 }) {
    const wt = new WebTransport(url, {
      serverCertificateHashes: [{ algorithm: 'sha-256', value: hexBytes(certificateSha256) }],
    });
    await wt.ready;
    const s = new CaucusSession(wt);
    const bidi = await wt.createBidirectionalStream();
    s.control = bidi.writable.getWriter();
    s.readControl(new ByteReader(bidi.readable));
    s.readGroups();
    s.drainDatagrams();
    s.hello = await s.call('hello', { protocol: 'caucus', version: 1, token, peer });
    s.pinger = setInterval(() => {
      s.call('ping', { timestamp: Date.now() }).catch(() => {});
    }, pingEvery);
    return s;
  }

  constructor(wt) {
    this.wt = wt;
    this.nextId = 1;
    this.pending = new Map();
    this.notifications = [];
    this.onNotification = () => {};
    this.onGroup = (_h, r) => r.cancel();
    this.errors = [];
    this.closedInfo = null;
    this.sent = Promise.resolve();
    wt.closed.then(
      info => (this.closedInfo = { closeCode: info.closeCode, reason: info.reason }),
      e => (this.closedInfo = { error: String(e) })
    ).finally(() => this.stop());
  }

  /** Queues a control message (writes are serialized). */
  send(msg) {
    const bytes = encodeMessage(msg);
    this.sent = this.sent.then(() => this.control.write(bytes)).catch(e => this.errors.push(`control write: ${e}`));
    return this.sent;
  }

  /** A JSON-RPC request; resolves with its `result`, rejects with its `error`. */
  call(method, params) {
    const id = String(this.nextId++);
    const reply = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
    this.send({ jsonrpc: '2.0', id, method, params });
    return reply;
  }

  notify(method, params) {
    return this.send({ jsonrpc: '2.0', method, params });
  }

  async readControl(r) {
    try {
      for (;;) {
        if (await r.atEnd()) {
          break;
        }
        const len = await r.varint();
        if (len > MAX_MESSAGE) {
          throw new Error(`control message of ${len} bytes`);
        }
        const msg = JSON.parse(new TextDecoder().decode(await r.bytes(len)));
        if (msg.id !== undefined && msg.id !== null && !msg.method) {
          const p = this.pending.get(String(msg.id));
          if (p) {
            this.pending.delete(String(msg.id));
            if (msg.error) {
              p.reject(Object.assign(new Error(`${p.method}: ${msg.error.code} ${msg.error.message}`), msg.error));
            } else {
              p.resolve(msg.result);
            }
          }
        } else if (msg.method) {
          this.notifications.push(msg.method);
          try {
            this.onNotification(msg.method, msg.params || {});
          } catch (e) {
            this.errors.push(`notification ${msg.method}: ${e}`);
          }
        }
      }
    } catch (e) {
      this.errors.push(`control read: ${e}`);
    }
    for (const p of this.pending.values()) {
      p.reject(new Error(`${p.method}: the control stream closed`));
    }
    this.pending.clear();
  }

  async readGroups() {
    const streams = this.wt.incomingUnidirectionalStreams.getReader();
    try {
      for (;;) {
        const { value, done } = await streams.read();
        if (done) {
          return;
        }
        const r = new ByteReader(value);
        readGroupHeader(r).then(
          h => this.onGroup(h, r),
          e => {
            this.errors.push(`group header: ${e}`);
            r.cancel();
          }
        );
      }
    } catch (e) {
      if (!this.closedInfo) {
        this.errors.push(`incoming streams: ${e}`);
      }
    }
  }

  async drainDatagrams() {
    try {
      const d = this.wt.datagrams.readable.getReader();
      for (;;) {
        if ((await d.read()).done) {
          return;
        }
      }
    } catch {}
  }

  join(name, data = '') {
    return this.call('join', { name, data });
  }

  /** Publishes `tracks` (the complete set): `{track_id: {alias, codec, timescale, type, …}}`. */
  publish(tracks) {
    return this.call('publish', { tracks });
  }

  stop() {
    clearInterval(this.pinger);
  }

  async leave() {
    this.stop();
    try {
      await this.notify('leave', {});
      await Promise.race([this.wt.closed, new Promise(r => setTimeout(r, 2000))]);
    } catch {}
    try {
      this.wt.close({ closeCode: 0, reason: 'left' });
    } catch {}
  }
}

/** Sends one track's frames: a new group stream at every keyframe, the
 * following frames as objects on it. */
export class GroupWriter {
  constructor(wt, alias, priority = 128) {
    Object.assign(this, { wt, alias, priority });
    this.group = -1;
    this.object = 0;
    this.writer = null;
    this.chain = Promise.resolve();
    this.groupsOpened = 0;
    this.objectsSent = 0;
    this.bytesSent = 0;
    this.errors = [];
  }

  /** Queues a frame; a keyframe closes the current group and opens the next. */
  frame(timestamp, keyframe, payload) {
    if (keyframe) {
      const previous = this.writer;
      const group = ++this.group;
      this.object = 0;
      this.writer = null;
      this.chain = this.chain.then(async () => {
        if (previous) {
          previous.close().catch(() => {});
        }
        const stream = await this.wt.createUnidirectionalStream();
        this.writer = stream.getWriter();
        this.groupsOpened++;
        await this.writer.write(encodeGroupHeader(this.alias, group, this.priority));
      });
    } else if (this.group < 0) {
      return false; // no group yet: a delta frame cannot start one
    }
    this.object++;
    const bytes = encodeObject(timestamp, keyframe, payload);
    this.chain = this.chain
      .then(async () => {
        await this.writer.write(bytes);
        this.objectsSent++;
        this.bytesSent += bytes.length;
      })
      .catch(e => {
        // A reset group (SUPERSEDED) loses its remaining frames; the next keyframe opens a new one.
        this.errors.push(String(e));
      });
    return true;
  }

  close() {
    this.chain = this.chain.then(() => this.writer && this.writer.close().catch(() => {}));
    return this.chain;
  }
}
