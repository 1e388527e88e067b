// A mute in page A shows as muted in page B's SDK store and B's inbound video
// stops; unmuting resumes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTwoPages, peerNamed, decoding, framesOver, until, eventTypes, sleep } from './harness.mjs';

test('a mute reaches the other page and stops its video; unmute resumes', async () => {
  await withTwoPages('mute', async ({ server, room, a, b }) => {
    await decoding(b, 20);
    await a.evaluate(() => window.caucus.setVideo(false));
    await a.evaluate(() => window.caucus.setAudio(false));
    await until("alice's tracks muted in bob's store", async () => {
      const p = await peerNamed(b, 'alice');
      return p && p.tracks.length === 2 && p.tracks.every(t => !t.enabled);
    });
    await sleep(500);
    const frozen = await framesOver(b, 2000);
    assert.ok(frozen <= 2, `bob decodes no video while alice is muted (${frozen} frames in 2 s)`);

    await a.evaluate(() => window.caucus.setVideo(true));
    await a.evaluate(() => window.caucus.setAudio(true));
    await until("alice's tracks unmuted in bob's store", async () => {
      const p = await peerNamed(b, 'alice');
      return p && p.tracks.every(t => t.enabled);
    });
    await decoding(b, 20);
    const types = eventTypes(await server.history(room));
    assert.equal(types.filter(t => t === 'TrackMuted').length, 2, `${types}`);
    assert.equal(types.filter(t => t === 'TrackUnmuted').length, 2, `${types}`);
  });
});
