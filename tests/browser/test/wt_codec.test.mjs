// The WebTransport page's protocol module (wt/caucus-wt.js) against the
// examples of RFC 9000 §16 and the framing of docs/quic-protocol.md §3 and §5.1,
// in Node: no browser, no server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeVarint,
  getVarint,
  encodeMessage,
  encodeGroupHeader,
  encodeObject,
  ByteReader,
  readGroupHeader,
  readObject,
} from '../wt/caucus-wt.js';

const hex = b => Buffer.from(b).toString('hex');

test('varints follow RFC 9000 §16', () => {
  // The RFC's examples (the 8-byte one is past 2^53, so a smaller 8-byte value).
  assert.equal(hex(encodeVarint(37)), '25');
  assert.equal(hex(encodeVarint(15293)), '7bbd');
  assert.equal(hex(encodeVarint(494878333)), '9d7f3e7d');
  assert.equal(hex(encodeVarint(2 ** 30)), 'c000000040000000');
  assert.equal(getVarint(Buffer.from('4025', 'hex')).value, 37);
  assert.equal(getVarint(Buffer.from('9d7f3e7d', 'hex')).value, 494878333);
  for (const v of [0, 63, 64, 16383, 16384, 2 ** 30 - 1, 2 ** 30, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) {
    const b = encodeVarint(v);
    assert.deepEqual(getVarint(b), { value: v, next: b.length }, `${v}`);
  }
  assert.equal(getVarint(Buffer.from('9d7f3e', 'hex')), null, 'a truncated varint is incomplete');
  assert.throws(() => encodeVarint(-1));
});

test('control messages and group streams round-trip', async () => {
  const m = encodeMessage({ jsonrpc: '2.0', id: '1', method: 'ping', params: { timestamp: 1 } });
  const len = getVarint(m);
  assert.equal(len.next + len.value, m.length);

  assert.equal(hex(encodeGroupHeader(3, 70, 128)), '1003404680');
  const payload = new Uint8Array(300).map((_, i) => i & 0xff);
  const o = encodeObject(90000, true, payload);
  // length (2 bytes: 4 + 1 + 300 = 305) ‖ timestamp (4 bytes) ‖ flags ‖ payload
  assert.equal(hex(o.subarray(0, 7)), '4131' + '80015f90' + '01');
  const chunks = [encodeGroupHeader(3, 70, 128), o, encodeObject(93000, false, payload.subarray(0, 10))];
  // Delivered in awkward pieces, as a network stream would.
  const all = Buffer.concat(chunks.map(c => Buffer.from(c)));
  const readable = new ReadableStream({
    start(c) {
      for (let i = 0; i < all.length; i += 7) {
        c.enqueue(new Uint8Array(all.subarray(i, i + 7)));
      }
      c.close();
    },
  });
  const r = new ByteReader(readable);
  assert.deepEqual(await readGroupHeader(r), { alias: 3, group: 70, priority: 128 });
  const a = await readObject(r);
  assert.equal(a.timestamp, 90000);
  assert.equal(a.keyframe, true);
  assert.deepEqual([...a.payload], [...payload]);
  const b = await readObject(r);
  assert.equal(b.keyframe, false);
  assert.equal(b.payload.length, 10);
  assert.equal(await readObject(r), null);
});

test('malformed objects are refused', async () => {
  const one = bytes =>
    readObject(
      new ByteReader(
        new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array(bytes));
            c.close();
          },
        })
      )
    );
  await assert.rejects(one([0x01, 0x05]), /does not cover/);
  await assert.rejects(one([0x03, 0x05, 0x02, 0xaa]), /reserved/);
  await assert.rejects(one([0x05, 0x05, 0x00]), /ended/);
});
