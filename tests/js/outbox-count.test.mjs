// The phone tells the server how many attempts still wait in its outbox (X-Trao-Outbox), with
// every attempt it sends and every fetch of its run: the console asks for a confirmation before
// closing a run whose phone still holds attempts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { OUTBOX_HEADER as API_HEADER, getRunsToday } from "../../pwa/static/js/api.js";
import { flushOutbox } from "../../pwa/static/js/background-sync.js";
import { OUTBOX_HEADER, Outbox, makeEntry } from "../../pwa/static/js/outbox.js";

const USER = { id: 7, username: "buuta1", role: "postman" };
const NOW = Date.parse("2026-11-23T02:00:00Z");

class MemoryStore {
  constructor() { this.map = new Map(); }
  async put(e) { this.map.set(e.attempt_id, e); }
  async all() { return [...this.map.values()]; }
  async delete(id) { this.map.delete(id); }
}

function fakeFetch(answers, { onPost = () => {} } = {}) {
  const fn = async (url, init = {}) => {
    fn.log.push({ url, init });
    if (url === "/api/v1/session") return new Response(JSON.stringify({ user: USER, csrf_token: "tok" }), { status: 200 });
    await onPost();
    const [status, body] = answers.shift() ?? [201, {}];
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
  fn.log = [];
  return fn;
}

function entry(id, created) {
  const meta = { attempt_id: id, stop_id: 5, envelope_code: "HC000000015VN", outcome: "failed", device_time: "2026-11-23T08:30:00+07:00" };
  return makeEntry({ userId: USER.id, meta, files: [], now: created });
}

const sentCounts = (fetch) =>
  fetch.log.filter((l) => l.url === "/api/v1/attempts").map((l) => l.init.headers[OUTBOX_HEADER]);

test("each attempt sent says how many still wait behind it", async () => {
  const fetch = fakeFetch([]);
  const outbox = new Outbox({ store: new MemoryStore(), fetch, now: () => NOW });
  for (const [i, id] of ["a1", "a2", "a3"].entries()) await outbox.add(entry(id, NOW - 3000 + i));
  await outbox.flush(USER.id);
  assert.deepEqual(sentCounts(fetch), ["2", "1", "0"]);
});

test("an attempt waiting for its backoff is counted though not sent now", async () => {
  const fetch = fakeFetch([[503, {}], [201, {}]]);
  const outbox = new Outbox({ store: new MemoryStore(), fetch, now: () => NOW });
  await outbox.add(entry("a1", NOW - 2000));
  await outbox.flush(USER.id); // 503: a1 waits for its backoff
  await outbox.add(entry("a2", NOW - 1000));
  await outbox.flush(USER.id); // only a2 is due; a1 still waits
  assert.deepEqual(sentCounts(fetch), ["0", "1"]);
});

test("a refused attempt no longer waits; one added during the flush does", async () => {
  const store = new MemoryStore();
  let added = false;
  let outbox;
  const fetch = fakeFetch([[409, { error: { code: "run_closed" } }], [201, {}], [201, {}]], {
    onPost: async () => {
      if (!added) {
        added = true;
        await outbox.add(entry("late", NOW));
      }
    },
  });
  outbox = new Outbox({ store, fetch, now: () => NOW });
  await outbox.add(entry("a1", NOW - 2000));
  await outbox.add(entry("a2", NOW - 1000));
  await outbox.flush(USER.id);
  // a1 was sent while "late" was being added: it counted a2 only; then a2 counts "late".
  assert.deepEqual(sentCounts(fetch), ["1", "1", "0"]);
});

test("the service worker's own sending says it too", async () => {
  const fetch = fakeFetch([]);
  const outbox = new Outbox({ store: new MemoryStore(), fetch, now: () => NOW });
  await outbox.add(entry("a1", NOW - 2000));
  await outbox.add(entry("a2", NOW - 1000));
  await flushOutbox({ outbox, lastUser: async () => USER });
  assert.deepEqual(sentCounts(fetch), ["1", "0"]);
});

test("fetching the run tells the outbox's count, and only a count", async (t) => {
  assert.equal(API_HEADER, OUTBOX_HEADER);
  const seen = [];
  t.mock.method(globalThis, "fetch", async (url, init) => {
    seen.push(init.headers);
    return new Response(JSON.stringify({ runs: [] }), { status: 200, headers: { ETag: '"e1"' } });
  });
  await getRunsToday(null, { waiting: 3 });
  await getRunsToday(null, { waiting: 0 });
  await getRunsToday(null);
  await getRunsToday(null, { waiting: Number.NaN });
  assert.deepEqual(seen.map((h) => h[OUTBOX_HEADER]), ["3", "0", undefined, undefined]);
  assert.equal(seen[0].Accept, "application/json");
});
