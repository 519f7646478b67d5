// Keeping the proofs on the phone: persistent storage asked at the right moments, and a warning
// before the phone runs out of room, with the attempts still waiting.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BYTES_PER_ATTEMPT, LOW_SPACE_BYTES, StorageGuard, isInstalled, spaceFrom, storageNotices,
} from "../../pwa/static/js/storage-guard.js";
import { MESSAGES } from "../../pwa/static/js/i18n.js";

const MB = 1024 * 1024;

/** navigator.storage as a browser gives it: `grants` answers persist(); calls are counted. */
function fakeStorage({ persisted = false, grants = false, usage = 10 * MB, quota = 5000 * MB } = {}) {
  const calls = { persist: 0, persisted: 0, estimate: 0 };
  return {
    calls,
    async persisted() { calls.persisted += 1; return persisted; },
    async persist() { calls.persist += 1; persisted = grants; return grants; },
    async estimate() { calls.estimate += 1; return { usage, quota }; },
  };
}

test("in a browser tab the app does not ask at start, and asks once when an attempt is queued", async () => {
  const storage = fakeStorage();
  const guard = new StorageGuard({ storage, installed: () => false });
  assert.equal(await guard.start(), "unknown");
  assert.equal(storage.calls.persist, 0);
  assert.equal(await guard.queued(), "refused");
  assert.equal(await guard.queued(), "refused");
  assert.equal(storage.calls.persist, 1, "asked once per start, not at every attempt");
});

test("installed, the app asks at start (Chrome grants it to installed apps)", async () => {
  const storage = fakeStorage({ grants: true });
  const guard = new StorageGuard({ storage, installed: () => true });
  assert.equal(await guard.start(), "granted");
  assert.equal(storage.calls.persist, 1);
  await guard.queued();
  assert.equal(storage.calls.persist, 1, "granted: never asked again");
});

test("already persisted: nothing is asked", async () => {
  const storage = fakeStorage({ persisted: true });
  const guard = new StorageGuard({ storage, installed: () => true });
  assert.equal(await guard.start(), "granted");
  assert.equal(storage.calls.persist, 0);
});

test("installing the app asks again, even after a refusal", async () => {
  const storage = fakeStorage();
  const guard = new StorageGuard({ storage });
  await guard.start();
  assert.equal(await guard.queued(), "refused");
  storage.persist = async () => true; // the browser grants installed apps
  assert.equal(await guard.installedNow(), "granted");
});

test("a browser without the Storage API, or one that throws, is 'unsupported' or 'refused', never a crash", async () => {
  const none = new StorageGuard({ storage: undefined });
  assert.equal(await none.start(), "unsupported");
  assert.equal(await none.queued(), "unsupported");
  assert.equal(await none.measure(), null);
  assert.deepEqual(none.notices(3), []);
  const throwing = fakeStorage();
  throwing.persist = async () => { throw new Error("denied"); };
  throwing.estimate = async () => { throw new Error("no"); };
  const guard = new StorageGuard({ storage: throwing });
  await guard.start();
  assert.equal(await guard.queued(), "refused");
  assert.equal(await guard.measure(), null);
});

test("installed means display-mode standalone (or fullscreen, or iOS's navigator.standalone)", () => {
  const win = (mode, standalone) => ({
    matchMedia: (q) => ({ matches: q === `(display-mode: ${mode})` }), navigator: { standalone },
  });
  assert.equal(isInstalled(win("standalone")), true);
  assert.equal(isInstalled(win("fullscreen")), true);
  assert.equal(isInstalled(win("browser")), false);
  assert.equal(isInstalled(win("browser", true)), true);
  assert.equal(isInstalled({}), false);
});

test("low space: under 200 MB free (a day's 500 attempts took 175 MB), whatever the quota", () => {
  assert.equal(LOW_SPACE_BYTES, 200 * MB);
  assert.ok(500 * BYTES_PER_ATTEMPT < LOW_SPACE_BYTES);
  assert.equal(spaceFrom({ usage: 0, quota: 201 * MB }).low, false);
  assert.equal(spaceFrom({ usage: 4900 * MB, quota: 5000 * MB }).low, true);
  assert.equal(spaceFrom({ usage: 30_000 * MB, quota: 30_300 * MB }).low, false, "1 % of a big quota is still room");
  const space = spaceFrom({ usage: 4930 * MB, quota: 5000 * MB });
  assert.equal(space.free, 70 * MB);
  assert.equal(space.room, 200); // 70 MB at 0.35 MB an attempt
  assert.equal(spaceFrom({ usage: 10, quota: 0 }), null);
  assert.equal(spaceFrom(undefined), null);
  assert.equal(spaceFrom({ usage: 6000 * MB, quota: 5000 * MB }).free, 0);
});

test("the notices: low space first, with the attempts waiting; then whether the data is kept", async () => {
  const guard = new StorageGuard({ storage: fakeStorage({ usage: 4930 * MB, quota: 5000 * MB }) });
  await guard.start();
  await guard.queued();
  await guard.measure();
  assert.deepEqual(guard.notices(12).map((n) => [n.kind, n.tone, n.key]), [
    ["low-space", "bad", "storage_low_pending"],
    ["not-kept", "warn", "storage_not_kept"],
  ]);
  assert.deepEqual(guard.notices(12)[0].vars, { free: 70, n: 12, room: 200 });
  assert.equal(guard.notices(0)[0].key, "storage_low");
  assert.deepEqual(storageNotices({ persistence: "granted", space: null }).map((n) => n.kind), ["kept"]);
  assert.deepEqual(storageNotices({ persistence: "unknown", space: spaceFrom({ usage: 0, quota: 1e12 }) }), []);
});

test("every notice has words in Vietnamese and English, with the same placeholders", () => {
  const placeholders = (text) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of ["storage_kept", "storage_not_kept", "storage_low", "storage_low_pending"]) {
    assert.ok(MESSAGES.vi[key] && MESSAGES.en[key], key);
    assert.deepEqual(placeholders(MESSAGES.vi[key]), placeholders(MESSAGES.en[key]), key);
  }
  assert.match(MESSAGES.vi.storage_not_kept, /màn hình chính/);
  assert.deepEqual(placeholders(MESSAGES.vi.storage_low_pending), ["free", "n", "room"]);
});
