// Alice's role publishes simulcast (f/h/q). Bob receives one layer at a time
// and switches when his SDK asks (setPreferredLayer → prefer-video-track-state
// on the ion-sfu data channel): the decoded width follows, and video keeps
// decoding across every switch (seq/timestamps rewritten, keyframe awaited).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withTwoPages, ROLES, peerNamed, inbound, decoding, until } from './harness.mjs';

const roles = {
  ...ROLES,
  host: {
    ...ROLES.host,
    publishParams: {
      allowed: ['audio', 'video'],
      video: { bitRate: 1500, codec: 'vp8', frameRate: 30, width: 1280, height: 720 },
      simulcast: {
        video: {
          layers: [
            { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 1200, maxFramerate: 30 },
            { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 400, maxFramerate: 30 },
            { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150, maxFramerate: 30 },
          ],
        },
      },
    },
  },
};

test('a subscriber gets the simulcast layer its SDK asks for', async () => {
  await withTwoPages(
    'simulcast',
    async ({ b }) => {
      await decoding(b, 10);
      const video = (await peerNamed(b, 'alice')).tracks.find(t => t.type === 'video');
      const widths = {};
      for (const layer of ['low', 'medium', 'high', 'low']) {
        await b.evaluate(([id, l]) => window.caucus.preferLayer(id, l), [video.id, layer]);
        const w = await until(`bob decodes the ${layer} layer`, async () => {
          const s = await inbound(b);
          const expected = { low: 320, medium: 640, high: 1280 }[layer];
          return s.frameWidth === expected && s.frameWidth;
        }, 15000);
        await decoding(b, 10);
        widths[layer] = w;
      }
      console.log('decoded widths by requested layer:', JSON.stringify(widths));
      assert.deepEqual(widths, { low: 320, medium: 640, high: 1280 });
    },
    { roles },
  );
});
