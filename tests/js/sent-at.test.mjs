// The phone's clock as it sends (X-Trao-Sent-At): from the app's outbox and from the service
// worker's Background Sync alike, read at the moment of sending, never written into the meta.
import { test } from "node:test";
import assert from "node:assert/strict";
import { flushOutbox } from "../../pwa/static/js/background-sync.js";
import { Outbox, SENT_AT_HEADER, clockReading, makeEntry } from "../../pwa/static/js/outbox.js";

const USER = { id: 7, username: "buuta1", role: "postman" };
const RECORDED = Date.parse("2026-11-23T01:30:00Z"); // 08:30 in Lạng Sơn
const SENT = Date.parse("2026-11-23T02:00:00.250Z"); // half an hour later, back in signal

class MemoryStore {
  constructor() { this.map = new Map(); }
  async put(e) { this.map.set(e.attempt_id, e); }
  async all() { return [...this.map.values()]; }
  async delete(id) { this.map.delete(id); }
}

function fakeFetch(answers) {
  const fn = async (url, init = {}) => {
    fn.log.push({ url, init });
    if (url === "/api/v1/session") return new Response(JSON.stringify({ user: USER, csrf_token: "tok" }), { status: 200 });
    const [status, body] = answers.shift();
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
  fn.log = [];
  return fn;
}

function entry(id) {
  const meta = { attempt_id: id, stop_id: 5, envelope_code: "HC000000015VN", outcome: "failed", device_time: "2026-11-23T08:30:00+07:00" };
  return makeEntry({ userId: USER.id, meta, files: [], now: RECORDED });
}

const posts = (fetch) => fetch.log.filter((l) => l.url === "/api/v1/attempts");

test("a reading is ISO 8601 with the phone's own offset", () => {
  assert.equal(clockReading(SENT, 420), "2026-11-23T09:00:00.250+07:00");
  assert.equal(clockReading(SENT, 0), "2026-11-23T02:00:00.250+00:00");
  assert.equal(clockReading(SENT, -330), "2026-11-22T20:30:00.250-05:30");
  assert.match(clockReading(SENT), /^2026-11-2\dT\d\d:\d\d:00\.250[+-]\d\d:\d\d$/); // this machine's zone
});

test("a clock that gives nothing readable sends no reading", () => {
  assert.equal(clockReading(Number.NaN, 0), null);
  assert.equal(clockReading(8.64e15, 0), null); // year 275760
  assert.equal(clockReading(SENT, Number.NaN), null);
});

test("the app's outbox sends its clock at the moment of sending, outside the meta", async () => {
  let now = SENT;
  const fetch = fakeFetch([[503, {}], [201, {}]]);
  const outbox = new Outbox({ store: new MemoryStore(), fetch, now: () => now });
  await outbox.add(entry("a1"));
  await outbox.flush(USER.id);
  now = SENT + 4 * 60000; // the retry, four minutes later
  await outbox.flush(USER.id, { force: true });
  const [first, retry] = posts(fetch);
  const offset = -new Date(SENT).getTimezoneOffset();
  assert.equal(first.init.headers[SENT_AT_HEADER], clockReading(SENT, offset));
  assert.equal(retry.init.headers[SENT_AT_HEADER], clockReading(SENT + 4 * 60000, offset));
  assert.equal(first.init.body.get("meta"), retry.init.body.get("meta")); // the same bytes
  assert.ok(!first.init.body.get("meta").includes("sent"));
});

test("the service worker's own sending (Background Sync, app closed) sends it too", async () => {
  const fetch = fakeFetch([[201, {}]]);
  const outbox = new Outbox({ store: new MemoryStore(), fetch, now: () => SENT });
  await outbox.add(entry("a1"));
  const outcome = await flushOutbox({ outbox, lastUser: async () => USER });
  assert.equal(outcome.sent, 1);
  const [post] = posts(fetch);
  assert.equal(post.init.headers[SENT_AT_HEADER], clockReading(SENT));
  assert.equal(post.init.headers["X-CSRFToken"], "tok");
});
