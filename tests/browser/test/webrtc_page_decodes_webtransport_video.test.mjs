// A WebRTC page, the demo app on the official 100ms web SDK, decodes the video
// a WebTransport page publishes (WebCodecs VP8 over the QUIC protocol): the
// server turns P's objects into RTP (docs/quic-protocol.md §9).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openApp, join, inbound, peerNamed, until, sleep } from './harness.mjs';
import { wtStats, withWtPublisher } from './wt_pages.mjs';

test("a WebRTC page (100ms web SDK) decodes a WebTransport page's video", async () => {
  await withWtPublisher('wt-to-webrtc', async ({ server, browser, room, pages, published }) => {
    const W = (pages.W = await openApp(browser, server.url));
    await join(W, server.appToken(room, 'viewer', 'watcher'), 'watcher', { audio: false, video: false });
    await until("the WebTransport publisher's video track in W's store", async () => {
      const p = await peerNamed(W, 'wt-publisher');
      return p && p.tracks.some(t => t.type === 'video' && t.enabled);
    });
    const started = Date.now();
    try {
      await until(
        "W (WebRTC) decodes 30 frames of P's WebTransport video (the server's QUIC → RTP conversion, docs/quic-protocol.md §9)",
        async () => (await inbound(W)).framesDecoded >= 30,
        20000
      );
    } catch (e) {
      const p = (await wtStats(pages.P)).pub;
      throw new Error(
        `${e.message}; W's inbound: ${JSON.stringify(await inbound(W))}; ` +
          `P sent ${p.groups} groups, ${p.objects} objects, ${p.bytes} bytes`
      );
    }
    console.log(`W decoded 30 frames within ${Date.now() - started} ms of seeing the track`);
    // Over 4 s W keeps up with what P encodes (20 fps, fewer on a busy machine).
    const before = await inbound(W);
    const encodedBefore = (await wtStats(pages.P)).pub.framesEncoded;
    await sleep(4000);
    const after = await inbound(W);
    const encoded = (await wtStats(pages.P)).pub.framesEncoded - encodedBefore;
    const frames = after.framesDecoded - before.framesDecoded;
    console.log(
      `W: ${frames} frames decoded in 4 s while P encoded ${encoded}, ${after.frameWidth}px wide, ` +
        `${after.videoPackets} video packets`
    );
    assert.ok(frames >= 20, `W keeps decoding (${frames} frames in 4 s)`);
    assert.ok(frames >= 0.7 * encoded, `W decodes what P encodes (${frames} of ${encoded} frames in 4 s)`);
    assert.equal(after.frameWidth, published.width, "W decodes the camera's width");
    assert.deepEqual((await W.evaluate(() => window.caucus.snapshot())).errors, []);
  });
});
