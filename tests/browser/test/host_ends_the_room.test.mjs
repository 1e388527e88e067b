// The host ends the room: both pages leave it, the other one told why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTwoPages, snapshot, until, eventTypes } from './harness.mjs';

test('the host ends the room and both pages see it', async () => {
  await withTwoPages('end', async ({ server, room, a, b }) => {
    await a.evaluate(() => window.caucus.endRoom('that is all'));
    for (const page of [a, b]) {
      await until('disconnected', async () => !(await snapshot(page)).connected);
    }
    const s = await snapshot(b);
    assert.ok(s.notifications.includes('ROOM_ENDED'), `bob saw ${s.notifications}`);
    const types = eventTypes(await server.history(room));
    assert.ok(types.includes('RoomEnded'), `${types}`);
  });
});
