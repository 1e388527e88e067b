// A Rust SDK peer (caucus-sdk, webrtc-rs; the `sdk_peer` binary) and a
// browser page in one room receive each other's media. The SDK's video is
// synthetic VP8 (not decodable pictures), so the page counts packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Server, launch, openApp, join, inbound, peerNamed, until, eventTypes } from './harness.mjs';

const SDK_PEER = process.env.CAUCUS_SDK_PEER;

test('a Rust SDK peer and a browser peer see each other\'s media', async () => {
  assert.ok(SDK_PEER, 'CAUCUS_SDK_PEER names the sdk_peer binary');
  const server = await Server.start();
  const browser = await launch();
  let peer;
  try {
    const room = await server.room('rust-and-browser');
    const a = await openApp(browser, server.url);
    await join(a, server.appToken(room, 'host', 'alice'), 'alice');
    peer = spawn(SDK_PEER, [server.url, server.appToken(room, 'guest', 'rusty'), 'rusty', '60'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let last = null;
    let joined = null;
    createInterface({ input: peer.stdout }).on('line', l => {
      const v = JSON.parse(l);
      if (v.joined) joined = v;
      if (v.remote) last = v.remote;
    });
    await until('the SDK peer joined', async () => joined, 20000);
    assert.ok(joined.audio && joined.video, `the SDK peer publishes: ${JSON.stringify(joined)}`);

    await until("rusty's tracks in alice's store", async () => (await peerNamed(a, 'rusty'))?.tracks.length === 2);
    const start = await inbound(a);
    await until('alice receives rusty\'s audio and video packets', async () => {
      const now = await inbound(a);
      return now.videoPackets - start.videoPackets > 50 && now.audioPackets - start.audioPackets > 50;
    });
    await until('rusty receives alice\'s audio and video', async () => {
      const tracks = last || [];
      const v = tracks.find(t => t.kind === 'video');
      const au = tracks.find(t => t.kind === 'audio');
      return v && au && v.packets > 50 && v.keyframes > 0 && au.packets > 50;
    }, 20000);
    console.log('rusty receives', JSON.stringify(last));
    peer.stdin.end();
    await new Promise(r => peer.once('exit', r));
    peer = null;
    const types = eventTypes(await server.history(room));
    assert.equal(types.filter(t => t === 'TrackPublished').length, 4, `${types}`);
  } finally {
    if (peer) peer.kill();
    await browser.close();
    await server.close();
  }
});
