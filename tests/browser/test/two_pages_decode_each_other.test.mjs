// Two pages of the demo app (the official 100ms web SDK) join one Caucus room:
// each decodes the other's camera and receives its microphone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openApp, join, snapshot, inbound, until, eventTypes } from './harness.mjs';

test('two pages join one room and decode each other', async () => {
  const server = await Server.start();
  const browser = await launch();
  try {
    const room = await server.room('two-pages');
    const a = await openApp(browser, server.url);
    const b = await openApp(browser, server.url);
    const msA = await join(a, server.appToken(room, 'host', 'alice'), 'alice');
    const msB = await join(b, server.appToken(room, 'guest', 'bob'), 'bob');
    console.log(`join took ${Math.round(msA)} ms (alice) and ${Math.round(msB)} ms (bob)`);

    for (const [page, other] of [
      [a, 'bob'],
      [b, 'alice'],
    ]) {
      await until(`${other}'s tracks in the store`, async () => {
        const s = await snapshot(page);
        const p = s.peers.find(p => p.name === other);
        return p && p.tracks.filter(t => t.enabled).length === 2;
      });
    }
    const started = Date.now();
    for (const page of [a, b]) {
      await until('frames decoded', async () => (await inbound(page)).framesDecoded > 20, 20000);
    }
    console.log(`first 20 frames decoded within ${Date.now() - started} ms of both joins`);
    const before = await Promise.all([a, b].map(inbound));
    await new Promise(r => setTimeout(r, 2000));
    const after = await Promise.all([a, b].map(inbound));
    for (const i of [0, 1]) {
      const frames = after[i].framesDecoded - before[i].framesDecoded;
      const audio = after[i].audioPackets - before[i].audioPackets;
      console.log(`page ${'ab'[i]}: ${frames} frames and ${audio} audio packets in 2 s, ${after[i].frameWidth}px wide`);
      assert.ok(frames > 15, `page ${'ab'[i]} decodes video (${frames} frames in 2 s)`);
      assert.ok(audio > 50, `page ${'ab'[i]} receives audio (${audio} packets in 2 s)`);
    }
    for (const page of [a, b]) {
      assert.deepEqual((await snapshot(page)).errors, []);
    }
    await Promise.all([a, b].map(p => p.evaluate(() => window.caucus.leave())));
    const types = eventTypes(await server.history(room));
    for (const t of ['PeerJoined', 'TrackPublished', 'PeerLeft']) {
      assert.ok(types.includes(t), `the log holds ${t}: ${types}`);
    }
    assert.equal(types.filter(t => t === 'PeerJoined').length, 2);
    assert.equal(types.filter(t => t === 'TrackPublished').length, 4);
    assert.equal(types.filter(t => t === 'PeerLeft').length, 2);
  } finally {
    await browser.close();
    await server.close();
  }
});
