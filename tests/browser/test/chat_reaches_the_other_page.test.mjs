// A chat message sent in page A arrives in page B's SDK store, with its sender.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTwoPages, snapshot, until, eventTypes } from './harness.mjs';

test('chat from A arrives at B', async () => {
  await withTwoPages('chat', async ({ server, room, a, b }) => {
    await a.evaluate(() => window.caucus.sendChat('hello from alice'));
    const m = await until('the message at bob', async () =>
      (await snapshot(b)).messages.find(m => m.message === 'hello from alice'),
    );
    assert.equal(m.from, 'alice');
    assert.equal(m.type, 'chat');
    const types = eventTypes(await server.history(room));
    assert.ok(types.includes('MessageBroadcast'), `${types}`);
  });
});
