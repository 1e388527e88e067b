// Bad input takes the SDK's own error path, never a hang: a forged token, an
// expired token, and a role that may not publish trying to publish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, openApp, join, snapshot, until, eventTypes } from './harness.mjs';

/** Joins and returns how the SDK failed: the rejection or its ERROR notifications. */
async function failedJoin(page, token) {
  const thrown = await page.evaluate(
    ([token]) =>
      window.caucus.join({ token, name: 'mallory' }).then(
        () => null,
        e => ({ code: e.code, message: e.message, description: e.description }),
      ),
    [token],
  );
  const s = await until('an error', async () => {
    const s = await snapshot(page);
    return (thrown || s.errors.length) && s;
  }, 15000);
  assert.ok(!s.connected, 'not connected');
  return thrown || s.errors[0];
}

test('forged and expired tokens and a viewer publishing get SDK errors', async () => {
  const server = await Server.start();
  const browser = await launch();
  try {
    const room = await server.room('bad-input');
    // Signed with another secret; and one that expired an hour ago.
    const forged = server.signedToken(room, 'guest', 'mallory', { secret: 'not-the-secret' });
    const expired = server.signedToken(room, 'guest', 'late', { iat: -7200, exp: -3600 });

    const e1 = await failedJoin(await openApp(browser, server.url), forged);
    console.log('forged token:', JSON.stringify(e1));
    assert.match(`${e1.message} ${e1.description}`, /token|signature|401/i);

    const e2 = await failedJoin(await openApp(browser, server.url), expired);
    console.log('expired token:', JSON.stringify(e2));
    assert.match(`${e2.message} ${e2.description}`, /expired|token|401/i);

    // A viewer joins, receives, and cannot publish.
    const v = await openApp(browser, server.url);
    await join(v, server.appToken(room, 'viewer', 'victor'), 'victor', { audio: false, video: false });
    // Its SDK knows the role: turning the camera on or sharing the screen
    // answers at once and publishes nothing.
    const attempt = what =>
      v.evaluate(
        ([what]) =>
          Promise.race([
            (what === 'video' ? window.caucus.setVideo(true) : window.caucus.setScreenShare(true)).then(
              () => ({ ok: true }),
              e => ({ ok: false, code: e.code, message: e.message }),
            ),
            new Promise(r => setTimeout(() => r({ hung: true }), 10000)),
          ]),
        [what],
      );
    const video = await attempt('video');
    const screen = await attempt('screen');
    console.log('viewer turning on video:', JSON.stringify(video), 'sharing its screen:', JSON.stringify(screen));
    assert.ok(!video.hung && !screen.hung, 'the SDK answered');
    const me = (await snapshot(v)).peers.find(p => p.isLocal);
    assert.equal(me.tracks.length, 0, `the viewer publishes nothing: ${JSON.stringify(me)}`);
    const types = eventTypes(await server.history(room));
    assert.ok(!types.includes('TrackPublished'), `${types}`);
    assert.equal(types.filter(t => t === 'PeerJoined').length, 1, `${types}`);
  } finally {
    await browser.close();
    await server.close();
  }
});
