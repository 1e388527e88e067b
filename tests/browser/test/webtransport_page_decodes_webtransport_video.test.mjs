// Browsers on the QUIC protocol over WebTransport (docs/quic-protocol.md, issue 8):
// page P joins over WebTransport and publishes its fake camera encoded with
// WebCodecs (VP8, a group stream per keyframe, keyframes every second); page S
// joins over WebTransport and decodes P's groups with a VideoDecoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, until, eventTypes } from './harness.mjs';
import { wtJoinOptions, openWtPage, wtStats, withWtPublisher } from './wt_pages.mjs';

test('a WebTransport page publishes WebCodecs VP8 and another WebTransport page decodes it', async () => {
  await withWtPublisher('wt-pages', async ({ server, browser, statics, room, pages, published, pubPeer }) => {
    const S = (pages.S = await openWtPage(browser, statics));
    const subOpts = await wtJoinOptions(server, server.appToken(room, 'guest', 'sub'));
    await S.evaluate(o => window.wtPage.subscribe({ ...o, name: 'wt-subscriber' }), subOpts);

    const track = await until("S is told about P's track (media-track)", async () => {
      const s = await wtStats(S);
      return Object.values(s.sub.tracks).find(t => t.track_id === published.trackId);
    });
    assert.equal(track.peer_id, pubPeer, 'media-track names the publisher');
    assert.equal(track.kind, 'video');
    assert.equal(track.codec, 'vp8');
    assert.equal(track.timescale, 90000);

    const decoded = async () => (await wtStats(S)).sub.decoders[track.alias]?.decoded || 0;
    const started = Date.now();
    await until('S decodes 30 frames of P', async () => (await decoded()) >= 30, 20000);
    console.log(`S decoded 30 frames within ${Date.now() - started} ms of joining`);
    // Over 4 s S keeps up with what P encodes (the fake camera gives 20 fps,
    // fewer when the machine is busy).
    const before = await decoded();
    const encodedBefore = (await wtStats(pages.P)).pub.framesEncoded;
    await sleep(4000);
    const s = await wtStats(S);
    const d = s.sub.decoders[track.alias];
    const p = (await wtStats(pages.P)).pub;
    const frames = d.decoded - before;
    const encoded = p.framesEncoded - encodedBefore;
    console.log(
      `S: ${frames} frames decoded in 4 s while P encoded ${encoded} ` +
        `(${d.decoded} in all, ${d.codedWidth}x${d.codedHeight}), ` +
        `${s.sub.groups} groups, ${s.sub.objects} objects, ${d.keyframes} keyframes; ` +
        `P: ${p.framesEncoded} frames encoded, ${p.groups} groups, ${p.keyframes} keyframes, ` +
        `${p.keyframeRequests} keyframe requests, ${p.framesDropped} dropped before encoding`
    );
    assert.ok(frames >= 20, `S keeps decoding (${frames} frames in 4 s)`);
    assert.ok(frames >= 0.8 * encoded, `S decodes what P encodes (${frames} of ${encoded} frames in 4 s)`);
    assert.equal(d.codedWidth, published.width, 'decoded width is the camera width');
    assert.equal(d.codedHeight, published.height, 'decoded height is the camera height');
    assert.ok(d.keyframes >= 2, `S starts new groups at keyframes (${d.keyframes})`);
    assert.deepEqual(d.errors, [], 'the VP8 decoder reports no error');
    assert.deepEqual(
      s.sub.groupErrors.filter(e => /without a keyframe|reserved|cover|unknown stream/.test(e)),
      [],
      'every group starts with a keyframe and parses'
    );
    assert.ok(p.groups >= 3 && p.keyframes >= 3, `P opens a group per keyframe (${p.groups} groups)`);
    assert.deepEqual([...s.errors, ...(await wtStats(pages.P)).errors], [], 'no page errors');
    assert.equal(s.closed, null, 'S is still connected');

    for (const k of ['S', 'P']) {
      await pages[k].evaluate(() => window.wtPage.leave());
    }
    delete pages.S;
    delete pages.P;
    const types = eventTypes(await server.history(room));
    assert.equal(types.filter(t => t === 'PeerJoined').length, 2, `${types}`);
    assert.equal(types.filter(t => t === 'TrackPublished').length, 1, `${types}`);
    assert.equal(types.filter(t => t === 'PeerLeft').length, 2, `${types}`);
  });
});


test('a late WebTransport subscriber gets a keyframe on request and decodes', async () => {
  // Keyframes only at the start and on request: when S joins 3 s later the
  // cached group is older than 2 s, so the server asks P for a keyframe
  // (keyframe-request, docs/quic-protocol.md §7) and P must answer with one.
  await withWtPublisher(
    'wt-keyframe-request',
    async ({ server, browser, statics, room, pages, published }) => {
      await sleep(3000);
      const requestsBefore = (await wtStats(pages.P)).pub.keyframeRequests;
      const S = (pages.S = await openWtPage(browser, statics));
      const subOpts = await wtJoinOptions(server, server.appToken(room, 'guest', 'late'));
      await S.evaluate(o => window.wtPage.subscribe({ ...o, name: 'wt-late' }), subOpts);
      const track = await until("S is told about P's track", async () =>
        Object.values((await wtStats(S)).sub.tracks).find(t => t.track_id === published.trackId)
      );
      await until('the server asks P for a keyframe', async () => {
        return (await wtStats(pages.P)).pub.keyframeRequests > requestsBefore;
      }, 10000);
      const answered = await until('P answers with a keyframe', async () => {
        const k = (await wtStats(pages.P)).pub.answeredTimestamps;
        return k.length >= 1 && k;
      }, 5000);
      const asked = answered[0];
      // Frames from the requested keyframe on: S started decoding at it (or
      // moved to it from the stale cached group).
      const since = () => S.evaluate(([a, t]) => window.wtPage.decodedSince(a, t), [track.alias, asked]);
      await until('the late S decodes 20 frames from the requested keyframe on', async () => (await since()) >= 20, 15000);
      const p = (await wtStats(pages.P)).pub;
      const d = (await wtStats(S)).sub.decoders[track.alias];
      console.log(
        `late S: ${d.decoded} frames decoded, ${await since()} of them from the requested keyframe on, ` +
          `${d.keyframes} keyframes; P: ${p.keyframeRequests} keyframe requests, ${p.keyframes} keyframes`
      );
      assert.equal(d.codedWidth, published.width);
      assert.equal(d.codedHeight, published.height);
      assert.deepEqual(d.errors, []);
    },
    { keyframeEvery: 3_600_000 }
  );
});
