// Shared pieces of the browser tests: a `caucus serve` on a scratch data
// directory, rooms and tokens, headless Chromium pages running the demo app
// (the official 100ms web SDK), a TCP proxy the test can cut, and the room's
// history from `caucus replay` once the server has stopped.
//
// Everything runs on 127.0.0.1 inside a loopback-only network namespace
// (run.sh enters it); nothing here may reach another address.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { tmpdir } from 'node:os';

import net from 'node:net';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const BIN = process.env.CAUCUS_BIN || new URL('../../../target/debug/caucus', import.meta.url).pathname;
export const CHROMIUM = process.env.CAUCUS_CHROMIUM || '/usr/bin/chromium';

export const sleep = ms => new Promise(r => setTimeout(r, ms));

/** Polls `f` (async) until it returns a truthy value; fails after `ms` with `what`. */
export async function until(what, f, ms = 15000, every = 200) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await f();
      if (last) {
        return last;
      }
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(last?.message ?? last)}`);
    }
    await sleep(every);
  }
}

export const ROLES = {
  host: {
    publishParams: { allowed: ['audio', 'video', 'screen'], simulcast: { video: { layers: [] } } },
    subscribeParams: { subscribeToRoles: ['host', 'guest', 'viewer'] },
    permissions: { endRoom: true, removeOthers: true, mute: true, unmute: true, changeRole: true },
  },
  guest: {
    publishParams: { allowed: ['audio', 'video'] },
    subscribeParams: { subscribeToRoles: ['host', 'guest'] },
  },
  viewer: {
    publishParams: { allowed: [] },
    subscribeParams: { subscribeToRoles: ['host', 'guest'] },
  },
};

/** A running `caucus serve --dev` on 127.0.0.1 with a fresh data directory. */
export class Server {
  static async start(extra = []) {
    const dir = mkdtempSync(path.join(tmpdir(), 'caucus-browser-'));
    const data = path.join(dir, 'data');
    // The default workspace's key and secret, so the tests can sign tokens
    // the CLI will not mint (expired ones).
    const accessKey = `browser-${Date.now()}`;
    const secret = randomBytes(24).toString('hex');
    const child = spawn(BIN, ['serve', '--dev', '--data', data, '--http', '127.0.0.1:0', ...extra], {
      env: {
        ...process.env,
        CAUCUS_LOG: process.env.CAUCUS_LOG || 'warn',
        CAUCUS_ACCESS_KEY: accessKey,
        CAUCUS_SECRET: secret,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const addr = await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('caucus serve did not start in 20 s')), 20000);
      child.once('exit', code => reject(new Error(`caucus serve exited (${code}) before starting`)));
      lines.on('line', line => {
        const m = line.match(/Caucus is running .* at http:\/\/([0-9.:]+)\./);
        if (m) {
          clearTimeout(t);
          resolve(m[1]);
        }
      });
    });
    const s = new Server(child, dir, data, addr);
    Object.assign(s, { accessKey, secret });
    s.mgmt = s.cli(['token', 'management', '--data', data]);
    return s;
  }

  constructor(child, dir, data, addr) {
    Object.assign(this, { child, dir, data, addr, stopped: false });
  }

  get url() {
    return `http://${this.addr}`;
  }

  cli(args) {
    return execFileSync(BIN, args, { env: { ...process.env, CAUCUS_LOG: 'warn' } }).toString().trim();
  }

  appToken(room, role, user, ttl) {
    const args = ['token', 'app', '--data', this.data, '--room', room, '--role', role, '--user', user];
    if (ttl) {
      args.push('--ttl', String(ttl));
    }
    return this.cli(args);
  }

  /** An HS256 app token signed here: `secret` (default: the workspace's)
   * and times relative to now in seconds. */
  signedToken(room, role, user, { secret = this.secret, iat = 0, exp = 3600 } = {}) {
    const now = Math.floor(Date.now() / 1000);
    const b64 = v => Buffer.from(JSON.stringify(v)).toString('base64url');
    const head = b64({ alg: 'HS256', typ: 'JWT' });
    const body = b64({
      access_key: this.accessKey,
      room_id: room,
      user_id: user,
      role,
      type: 'app',
      version: 2,
      iat: now + iat,
      nbf: now + iat,
      exp: now + exp,
      jti: randomUUID(),
    });
    const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  async call(method, path, body) {
    const r = await fetch(this.url + path, {
      method,
      headers: { authorization: `Bearer ${this.mgmt}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    if (!r.ok) {
      throw new Error(`${method} ${path}: ${r.status} ${text}`);
    }
    return json;
  }

  /** A template with `roles` and a room on it; returns the room id. */
  async room(name, roles = ROLES) {
    const t = await this.call('POST', '/v2/templates', { name: `${name}-template`, roles });
    const room = await this.call('POST', '/v2/rooms', { name, template_id: t.id });
    return room.id;
  }

  /** Stops the server (SIGTERM) and waits for a clean exit. */
  async stop() {
    if (this.stopped) {
      return;
    }
    this.stopped = true;
    const exited = new Promise(r => this.child.once('exit', (code, signal) => r({ code, signal })));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30000);
    const { code } = await exited;
    clearTimeout(timer);
    if (code !== 0) {
      throw new Error(`caucus serve exited with ${code}`);
    }
  }

  /** The room's history (event types in log order), from `caucus replay` after a stop. */
  async history(room) {
    await this.stop();
    const out = JSON.parse(this.cli(['replay', '--data', this.data, '--room', room, '--format', 'json']));
    return out;
  }

  async close() {
    if (!this.stopped) {
      this.child.kill('SIGKILL');
      this.stopped = true;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The event types of a `caucus replay` history, whatever its exact nesting. */
export function eventTypes(history) {
  const list = history.history || history.events || [];
  return list.map(e => e.type || e.event_type || e.event);
}

/** Headless Chromium with a fake camera and microphone. */
export async function launch() {
  const profile = mkdtempSync(path.join(tmpdir(), 'caucus-chromium-'));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-extensions',
      '--disable-features=NetworkTimeServiceQuerying',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--autoplay-policy=no-user-gesture-required',
      `--user-data-dir=${profile}`,
      '--remote-debugging-pipe',
      '--no-startup-window',
    ],
  });
  const close = browser.close.bind(browser);
  browser.close = async () => {
    await close();
    rmSync(profile, { recursive: true, force: true });
  };
  return browser;
}

/** A page of the demo app at `origin` (the server, or a proxy in front of it). */
export async function openApp(browser, origin) {
  const context = await browser.newContext();
  const page = await context.newPage();
  // In a loopback-only namespace Chromium reports offline, and the SDK would
  // wait for "online" before joining.
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'onLine', { get: () => true });
  });
  const consoleLines = [];
  page.on('console', m => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', e => consoleLines.push(`pageerror: ${e.message}`));
  page.consoleLines = consoleLines;
  await page.goto(`${origin}/demo`);
  await page.waitForFunction(() => !!window.caucus);
  return page;
}

export const snapshot = page => page.evaluate(() => window.caucus.snapshot());
export const inbound = page => page.evaluate(() => window.caucus.inbound());

/** Joins and waits until the SDK says connected; returns the join time in ms. */
export async function join(page, token, name, opts = {}) {
  const { ms } = await page.evaluate(([token, name, opts]) => window.caucus.join({ token, name, ...opts }), [
    token,
    name,
    opts,
  ]);
  await until(`${name} connected`, async () => (await snapshot(page)).connected, 15000);
  return ms;
}

/** A TCP proxy on 127.0.0.1 whose open connections the test can cut. */
export class Proxy {
  static async start(target) {
    const [host, port] = target.split(':');
    const p = new Proxy();
    p.sockets = new Set();
    p.server = net.createServer(client => {
      const upstream = net.connect(Number(port), host);
      p.sockets.add(client);
      p.sockets.add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        p.sockets.delete(client);
        p.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise(r => p.server.listen(0, '127.0.0.1', r));
    p.addr = `127.0.0.1:${p.server.address().port}`;
    return p;
  }

  get url() {
    return `http://${this.addr}`;
  }

  /** Resets every open connection (the page's WebSocket among them). */
  cut() {
    const n = this.sockets.size;
    for (const s of this.sockets) {
      s.resetAndDestroy ? s.resetAndDestroy() : s.destroy();
    }
    this.sockets.clear();
    return n;
  }

  close() {
    this.cut();
    this.server.close();
  }
}

/** The peer named `name` in `page`'s store. */
export async function peerNamed(page, name) {
  return (await snapshot(page)).peers.find(p => p.name === name);
}

/** Waits until `page` decodes video frames (more than `n` new ones). */
export async function decoding(page, n = 10, ms = 20000) {
  const start = (await inbound(page)).framesDecoded;
  await until(`${n} new frames decoded`, async () => (await inbound(page)).framesDecoded - start >= n, ms);
}

/** New frames decoded by `page` over `ms`. */
export async function framesOver(page, ms) {
  const a = (await inbound(page)).framesDecoded;
  await sleep(ms);
  return (await inbound(page)).framesDecoded - a;
}

/** A server, a browser and a room with alice (host) and bob (guest) joined
 * and seeing each other's video; `run(ctx)` does the rest; everything is
 * closed afterwards. */
export async function withTwoPages(name, run, { roles = ROLES, bobRole = 'guest', serverArgs = [] } = {}) {
  const server = await Server.start(serverArgs);
  const browser = await launch();
  const pages = [];
  try {
    const room = await server.room(name, roles);
    const a = await openApp(browser, server.url);
    const b = await openApp(browser, server.url);
    pages.push(a, b);
    await join(a, server.appToken(room, 'host', 'alice'), 'alice');
    await join(b, server.appToken(room, bobRole, 'bob'), 'bob');
    await run({ server, browser, room, a, b });
  } catch (e) {
    for (const [i, p] of pages.entries()) {
      console.log(`--- page ${'ab'[i]} console (last 40) ---\n${p.consoleLines.slice(-40).join('\n')}`);
    }
    throw e;
  } finally {
    await browser.close();
    await server.close();
  }
}

/** A static HTTP server on 127.0.0.1 for the files under `dir` (the
 * WebTransport test pages: http://127.0.0.1 is a secure context, so
 * WebTransport and WebCodecs work there). */
export async function serveStatic(dir) {
  const { createServer } = await import('node:http');
  const { readFile } = await import('node:fs/promises');
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript' };
  const root = path.resolve(dir);
  const server = createServer(async (req, res) => {
    const name = path.resolve(root, '.' + decodeURIComponent(new URL(req.url, 'http://x').pathname));
    if (!name.startsWith(root + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(name);
      res.writeHead(200, { 'content-type': types[path.extname(name)] || 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise(r => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise(r => server.close(r)),
  };
}

/** A plain page at `url` whose console lines are kept (`page.consoleLines`). */
export async function openPage(browser, url) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', m => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', e => consoleLines.push(`pageerror: ${e.message}`));
  page.consoleLines = consoleLines;
  await page.goto(url);
  return page;
}
