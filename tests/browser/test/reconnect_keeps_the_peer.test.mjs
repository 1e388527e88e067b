// Alice's page reaches the server through a TCP proxy; cutting it drops her
// WebSocket. The SDK reconnects on its own (a new socket with the same peer
// id, no second join), bob never sees her leave, and media flows again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, Proxy, launch, openApp, join, snapshot, peerNamed, decoding, until, eventTypes } from './harness.mjs';

test('a page whose WebSocket is cut reconnects and keeps its peer id', async () => {
  const server = await Server.start();
  const proxy = await Proxy.start(server.addr);
  const browser = await launch();
  let a;
  let b;
  try {
    const room = await server.room('reconnect');
    a = await openApp(browser, proxy.url);
    b = await openApp(browser, server.url);
    await join(a, server.appToken(room, 'host', 'alice'), 'alice');
    await join(b, server.appToken(room, 'guest', 'bob'), 'bob');
    await decoding(b, 10);
    const before = (await snapshot(a)).localPeer.id;

    const cut = proxy.cut();
    assert.ok(cut > 0, 'the proxy carried the page\'s connections');
    const t0 = Date.now();
    await until('alice reconnecting', async () => (await snapshot(a)).notifications.includes('RECONNECTING'), 20000);
    await until('alice reconnected', async () => (await snapshot(a)).notifications.includes('RECONNECTED'), 30000);
    console.log(`reconnected ${Date.now() - t0} ms after the cut`);
    const s = await snapshot(a);
    assert.equal(s.localPeer.id, before, 'the same peer id');
    assert.ok(s.connected);
    assert.ok(await peerNamed(b, 'alice'), 'bob still sees alice');
    assert.ok(!(await snapshot(b)).notifications.includes('PEER_LEFT'), 'bob never saw alice leave');

    // Both directions still work after the reconnect.
    await decoding(b, 20);
    await decoding(a, 20);
    await a.evaluate(() => window.caucus.sendChat('still here'));
    await until('chat after reconnect', async () =>
      (await snapshot(b)).messages.some(m => m.message === 'still here'),
    );
    const types = eventTypes(await server.history(room));
    assert.equal(types.filter(t => t === 'PeerJoined').length, 2, `${types}`);
    assert.equal(types.filter(t => t === 'PeerLeft').length, 0, `${types}`);
  } catch (e) {
    for (const [n, p] of [['a', a], ['b', b]]) {
      if (p) console.log(`--- page ${n} ---\n${p.consoleLines.slice(-60).join('\n')}`);
    }
    throw e;
  } finally {
    proxy.close();
    await browser.close();
    await server.close();
  }
});
