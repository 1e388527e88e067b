// Shared pieces of the WebTransport browser tests: `/init`'s WebTransport
// address for a token, the test page (wt/index.html, served from a static
// server on 127.0.0.1) and a room where page P publishes its camera over
// WebTransport (WebCodecs VP8).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Server, launch, openPage, serveStatic, until } from './harness.mjs';

const WT_DIR = fileURLToPath(new URL('../wt/', import.meta.url));

/** What a WebTransport page needs to join: `/init`'s address and certificate hash. */
export async function wtJoinOptions(server, token) {
  const r = await fetch(`${server.url}/init`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200, `/init: ${r.status}`);
  const init = await r.json();
  assert.ok(init.quic && init.quic.certificate_sha256, `/init names the QUIC endpoint: ${JSON.stringify(init.quic)}`);
  // docs/quic-protocol.md §1: `quic.webtransport`, the URL for `new WebTransport`.
  const url = init.quic.webtransport;
  assert.match(
    String(url),
    /^https:\/\/127\.0\.0\.1:\d+\/wt$/,
    `/init's quic.webtransport is a loopback /wt URL: ${JSON.stringify(init.quic)}`
  );
  return { url, certificateSha256: init.quic.certificate_sha256, token, peer: randomUUID() };
}

export async function openWtPage(browser, statics) {
  const page = await openPage(browser, `${statics.url}/index.html`);
  await page.waitForFunction(() => !!window.wtPage, null, { timeout: 10000 });
  return page;
}

export const wtStats = page => page.evaluate(() => window.wtPage.stats());

/** A server, a browser, the static pages and a room where page P publishes over
 * WebTransport (`publish`: options of wtPage.publish, e.g. `keyframeEvery` in ms);
 * `run(ctx)` does the rest; everything is closed afterwards. */
export async function withWtPublisher(name, run, publish = {}) {
  const server = await Server.start();
  const statics = await serveStatic(WT_DIR);
  const browser = await launch();
  const pages = {};
  try {
    const room = await server.room(name);
    pages.P = await openWtPage(browser, statics);
    const pubOpts = await wtJoinOptions(server, server.appToken(room, 'host', 'pub'));
    const published = await pages.P.evaluate(o => window.wtPage.publish({ ...o, name: 'wt-publisher' }), {
      ...pubOpts,
      ...publish,
    });
    console.log(`P joined over WebTransport (${pubOpts.url}), publishing ${published.width}x${published.height}`);
    await until('P sends groups', async () => (await wtStats(pages.P)).pub.groups >= 1, 10000);
    await run({ server, browser, statics, room, pages, published, pubPeer: pubOpts.peer });
  } catch (e) {
    for (const [k, p] of Object.entries(pages)) {
      console.log(`--- page ${k} console (last 40) ---\n${p.consoleLines.slice(-40).join('\n')}`);
      if (k !== 'W') {
        console.log(`--- page ${k} stats ---\n${JSON.stringify(await wtStats(p).catch(e => String(e)))}`);
      }
    }
    throw e;
  } finally {
    for (const [k, p] of Object.entries(pages)) {
      await p
        .evaluate(k === 'W' ? () => window.caucus.leave() : () => window.wtPage.leave())
        .catch(() => {});
    }
    await browser.close();
    await statics.close();
    await server.close();
  }
}

