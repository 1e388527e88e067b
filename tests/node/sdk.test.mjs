// The official 100ms Node server SDK, unchanged, against a Caucus server.
//
//   CAUCUS_URL=http://127.0.0.1:8080 CAUCUS_ACCESS_KEY=… CAUCUS_SECRET=… node --test
//
// The only change to the SDK's behaviour is its HTTP base URL: the SDK keeps
// an axios instance at `sdk.api.axios` created with baseURL
// https://api.100ms.live/v2 (dist/cjs/services/APIService.js); the test points
// that instance's defaults at the local server. Until signalling lands, the
// active-room calls run on rooms without peers; the Rust router tests cover
// them with joined peers.

import { test, before } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import HMS from "@100mslive/server-sdk";

const url = (process.env.CAUCUS_URL ?? "").replace(/\/$/, "");
const accessKey = process.env.CAUCUS_ACCESS_KEY;
const secret = process.env.CAUCUS_SECRET;
if (!url || !accessKey || !secret) {
  throw new Error("set CAUCUS_URL, CAUCUS_ACCESS_KEY and CAUCUS_SECRET");
}

const hms = new HMS.SDK(accessKey, secret);
hms.setLogLevel?.("error");
hms.api.axios.defaults.baseURL = `${url}/v2`;

// A prefix per run so that reruns against the same server do not collide.
const run = `sdk-${Date.now().toString(36)}`;

function claims(token) {
  const [, payload] = token.split(".");
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
}

async function collect(iterable) {
  const out = [];
  for await (const x of iterable) out.push(x);
  return out;
}

// Resolves to the SDK's error object ({code, name, message}) of a rejected call.
async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected the call to fail");
}

async function exchange(code, userId) {
  const res = await fetch(`${url}/v2/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(userId ? { code, user_id: userId } : { code }),
  });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  const res = await fetch(`${url}/healthz`);
  assert.equal(res.status, 200, "the server answers /healthz");
});

test("auth mints management and app tokens the server accepts", async () => {
  const { token } = await hms.auth.getManagementToken({ forceNew: true });
  const m = claims(token);
  assert.equal(m.access_key, accessKey);
  assert.equal(m.type, "management");
  assert.equal(m.version, 2);
  assert.ok(m.exp > m.iat && m.jti);
  const res = await fetch(`${url}/v2/rooms`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);

  const app = await hms.auth.getAuthToken({ roomId: "65f0c2a1b2c3d4e5f6a7b8c9", role: "host", userId: "alice" });
  const a = claims(app.token);
  assert.deepEqual([a.type, a.room_id, a.role, a.user_id], ["app", "65f0c2a1b2c3d4e5f6a7b8c9", "host", "alice"]);
  // An app token is not a management token.
  const refused = await fetch(`${url}/v2/rooms`, { headers: { authorization: `Bearer ${app.token}` } });
  assert.equal(refused.status, 401);
  const body = await refused.json();
  assert.equal(body.code, 401);
  assert.equal(body.message, "Token validation error");
});

test("rooms: create, idempotent create, retrieve, update, enable/disable, list", async () => {
  const name = `${run}-room`;
  const room = await hms.rooms.create({ name, description: "from the node sdk" });
  assert.match(room.id, /^[0-9a-f]{24}$/);
  assert.equal(room.name, name);
  assert.equal(room.description, "from the node sdk");
  assert.equal(room.enabled, true);
  assert.ok(room.created_at instanceof Date && !Number.isNaN(room.created_at.getTime()));
  assert.match(room.template_id, /^[0-9a-f]{24}$/);

  const again = await hms.rooms.create({ name });
  assert.equal(again.id, room.id);

  const byId = await hms.rooms.retrieveById(room.id);
  assert.equal(byId.name, name);
  const byName = await hms.rooms.retrieveByName(name);
  assert.equal(byName.id, room.id);

  const updated = await hms.rooms.update(room.id, { name: `${name}-2`, description: "renamed" });
  assert.equal(updated.name, `${name}-2`);
  assert.equal(updated.description, "renamed");

  const disabled = await hms.rooms.enableOrDisable(room.id, false);
  assert.equal(disabled.enabled, false);
  const enabled = await hms.rooms.enableOrDisable(room.id, true);
  assert.equal(enabled.enabled, true);

  const missing = await failure(hms.rooms.retrieveById("65f0c2a1b2c3d4e5f6a7b8c9"));
  assert.equal(missing.code, 404);
  const invalid = await failure(hms.rooms.create({ name: "bad name!" }));
  assert.equal(invalid.code, 400);
});

test("rooms.list iterates every page with the SDK's iterator", async () => {
  const ids = [];
  for (let i = 0; i < 23; i++) {
    ids.push((await hms.rooms.create({ name: `${run}-page-${String(i).padStart(2, "0")}` })).id);
  }
  const all = await collect(hms.rooms.list());
  const seen = all.map((r) => r.id).filter((id) => ids.includes(id));
  assert.deepEqual(seen, ids, "every room once, in creation order");
  assert.ok(all.every((r) => r.enabled === true));
  const big = await collect(hms.rooms.list({ limit: 100 }));
  assert.equal(big.length, all.length);

  await hms.rooms.enableOrDisable(ids[0], false);
  const disabled = await collect(hms.rooms.list({ enabled: false }));
  assert.ok(disabled.some((r) => r.id === ids[0]));
  assert.ok(disabled.every((r) => r.enabled === false));
});

test("room codes: create for all roles and one role, list, disable, enable, exchange", async () => {
  const room = await hms.rooms.create({ name: `${run}-codes` });
  const codes = await hms.roomCodes.create(room.id);
  assert.deepEqual(codes.map((c) => c.role).sort(), ["guest", "host"]);
  for (const c of codes) {
    assert.equal(c.room_id, room.id);
    assert.equal(c.enabled, true);
    assert.match(c.code, /^[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    // The SDK turns only top-level `*_at` fields into Dates; these are nested in `data`.
    assert.ok(!Number.isNaN(new Date(c.created_at).getTime()));
  }
  const guest = await hms.roomCodes.createForRole(room.id, "guest");
  assert.equal(guest.role, "guest");

  const listed = await collect(hms.roomCodes.list(room.id));
  assert.equal(listed.length, 3);
  const guests = await collect(hms.roomCodes.list(room.id, { role: "guest" }));
  assert.equal(guests.length, 2);

  const off = await hms.roomCodes.enableOrDisable(guest.code, false);
  assert.equal(off.enabled, false);
  const onlyEnabled = await collect(hms.roomCodes.list(room.id, { enabled: true }));
  assert.equal(onlyEnabled.length, 2);
  assert.equal((await exchange(guest.code)).status, 403);
  const on = await hms.roomCodes.enableOrDisable(guest.code, true);
  assert.equal(on.enabled, true);

  const { status, body } = await exchange(guest.code, "bob");
  assert.equal(status, 200);
  const t = claims(body.token);
  assert.deepEqual([t.type, t.access_key, t.room_id, t.role, t.user_id], ["app", accessKey, room.id, "guest", "bob"]);

  const unknownRole = await failure(hms.roomCodes.createForRole(room.id, "nobody"));
  assert.equal(unknownRole.code, 404);
});

test("active rooms on a room without peers", async () => {
  const room = await hms.rooms.create({ name: `${run}-active` });
  const notLive = await failure(hms.activeRooms.retrieve(room.id));
  assert.equal(notLive.code, 404);
  const peers = await hms.activeRooms.retrieveActivePeers(room.id);
  assert.deepEqual(peers, {});
  const peerId = randomUUID();
  assert.equal((await failure(hms.activeRooms.retrievePeerDetails(room.id, peerId))).code, 404);
  assert.equal((await failure(hms.activeRooms.updatePeer(room.id, peerId, { name: "x" }))).code, 404);
  assert.equal((await failure(hms.activeRooms.sendMessage(room.id, { message: "hello" }))).code, 404);
  assert.equal((await failure(hms.activeRooms.removePeer(room.id, { peer_id: peerId, reason: "bye" }))).code, 404);
  // Removing every peer of a role when there is none removes nobody.
  await hms.activeRooms.removePeer(room.id, { role: "guest" });
  // Ending with lock disables the room even without a session.
  await hms.activeRooms.end(room.id, { reason: "closing", lock: true });
  assert.equal((await hms.rooms.retrieveById(room.id)).enabled, false);
  assert.equal((await failure(hms.activeRooms.end(room.id, { reason: "again" }))).code, 404);
});

test("sessions: list with the iterator, filters, and lookups", async () => {
  const room = await hms.rooms.create({ name: `${run}-sessions` });
  const all = await collect(hms.sessions.list());
  for (const s of all) {
    assert.match(s.id, /^[0-9a-f]{24}$/);
    assert.equal(typeof s.active, "boolean");
    assert.equal(typeof s.peers, "object");
  }
  const ofRoom = await collect(hms.sessions.list({ room_id: room.id }));
  assert.deepEqual(ofRoom, []);
  const active = await collect(hms.sessions.list({ active: true }));
  assert.ok(active.every((s) => s.active === true));
  await assert.rejects(hms.sessions.retrieveActiveByRoom(room.id), /No active Session/);
  assert.equal((await failure(hms.sessions.retrieveById("65f0c2a1b2c3d4e5f6a7b8c9"))).code, 404);
});
