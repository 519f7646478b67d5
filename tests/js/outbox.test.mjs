// The outbox: written whole before sending, removed only on the server's acknowledgement.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Outbox, backoffSeconds, classifyResponse, entryBytes, makeEntry } from "../../pwa/static/js/outbox.js";

const USER = { id: 7, username: "buuta1", role: "postman" };

class MemoryStore {
  constructor() { this.map = new Map(); this.log = []; }
  async put(e) { this.log.push(["put", e.attempt_id]); this.map.set(e.attempt_id, structuredClone({ ...e, files: [] }) && e); }
  async all() { return [...this.map.values()]; }
  async delete(id) { this.log.push(["delete", id]); this.map.delete(id); }
}

function entry(id, { now = 1000, outcome = "delivered" } = {}) {
  const meta = { attempt_id: id, stop_id: 5, envelope_code: "HC000000015VN", outcome };
  const files = [{ field: "photo", blob: new Blob(["jpeg"], { type: "image/jpeg" }), sha256: "a".repeat(64), filename: "p.jpg" }];
  return makeEntry({ userId: USER.id, meta, files, now });
}

/** A fake server: `answers` is a list of [status, body] (or an Error to throw) for the POSTs. */
function fakeFetch(answers, { session = [200, { user: USER, csrf_token: "tok" }], log = [] } = {}) {
  let inFlight = 0;
  const fn = async (url, init = {}) => {
    log.push({ url, init, inFlight });
    if (url === "/api/v1/session") {
      if (session instanceof Error) throw session;
      return new Response(JSON.stringify(session[1]), { status: session[0] });
    }
    inFlight += 1;
    fn.maxInFlight = Math.max(fn.maxInFlight ?? 0, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight -= 1;
    const answer = answers.shift();
    if (answer instanceof Error) throw answer;
    return new Response(JSON.stringify(answer[1]), { status: answer[0], headers: { "Content-Type": "application/json" } });
  };
  fn.log = log;
  return fn;
}

test("backoff doubles and stops at 300 s", () => {
  assert.deepEqual([0, 1, 2, 3, 8, 9, 20].map(backoffSeconds), [1, 2, 4, 8, 256, 300, 300]);
});

test("responses are classified: ack, login, retry, rejected", () => {
  assert.equal(classifyResponse(201), "ack");
  assert.equal(classifyResponse(200), "ack");
  assert.equal(classifyResponse(401), "login");
  for (const s of [408, 429, 500, 502, 503]) assert.equal(classifyResponse(s), "retry");
  for (const s of [403, 404, 409, 413, 422]) assert.equal(classifyResponse(s), "rejected");
  assert.equal(classifyResponse(400, "csrf_failed"), "retry");
});

test("an attempt is written whole to the store before anything is sent", async () => {
  const store = new MemoryStore();
  const fetch = fakeFetch([[201, { attempt_id: "a1" }]]);
  const outbox = new Outbox({ store, fetch });
  await outbox.add(entry("a1"));
  assert.equal(fetch.log.length, 0);
  const saved = (await store.all())[0];
  assert.equal(saved.meta.files[0].sha256, "a".repeat(64));
  assert.equal(saved.files[0].blob.size, 4);
  assert.equal(saved.state, "pending");
});

test("an acknowledged attempt is removed; the POST carries meta, files and the CSRF token", async () => {
  const store = new MemoryStore();
  const fetch = fakeFetch([[201, { attempt_id: "a1", envelope_state: "delivered" }]]);
  const acks = [];
  const outbox = new Outbox({ store, fetch, onAck: (e, body) => acks.push([e.attempt_id, body.envelope_state]) });
  await outbox.add(entry("a1"));
  const result = await outbox.flush(USER.id);
  assert.equal(result.sent, 1);
  assert.equal((await store.all()).length, 0);
  assert.deepEqual(acks, [["a1", "delivered"]]);
  const post = fetch.log.find((l) => l.url === "/api/v1/attempts");
  assert.equal(post.init.headers["X-CSRFToken"], "tok");
  assert.equal(JSON.parse(post.init.body.get("meta")).attempt_id, "a1");
  assert.equal(post.init.body.getAll("photo").length, 1);
});

test("a replay answered 200 is also removed", async () => {
  const store = new MemoryStore();
  const outbox = new Outbox({ store, fetch: fakeFetch([[200, {}]]) });
  await outbox.add(entry("a1"));
  await outbox.flush(USER.id);
  assert.equal((await store.all()).length, 0);
});

test("a network failure keeps the attempt and backs off min(2^n, 300) s", async () => {
  const store = new MemoryStore();
  let now = 10_000;
  const outbox = new Outbox({ store, fetch: fakeFetch([new TypeError("offline"), [503, {}]]), now: () => now });
  await outbox.add(entry("a1"));
  await outbox.flush(USER.id);
  let [e] = await store.all();
  assert.equal(e.state, "pending");
  assert.equal(e.tries, 1);
  assert.equal(e.next_at, 10_000 + 2_000);
  // Not due yet: nothing is sent.
  const early = await outbox.flush(USER.id);
  assert.equal(early.sent + early.retry, 0);
  now = 12_000;
  await outbox.flush(USER.id);
  [e] = await store.all();
  assert.equal(e.tries, 2);
  assert.equal(e.next_at, 12_000 + 4_000);
});

test("a rejected attempt stays, with the server's code and message", async () => {
  const store = new MemoryStore();
  const body = { error: { code: "identity_mismatch", message: "The ID does not match.", fields: {} } };
  const outbox = new Outbox({ store, fetch: fakeFetch([[422, body]]) });
  await outbox.add(entry("a1"));
  const result = await outbox.flush(USER.id);
  assert.equal(result.rejected, 1);
  const [e] = await store.all();
  assert.equal(e.state, "rejected");
  assert.deepEqual([e.error.status, e.error.code, e.error.message], [422, "identity_mismatch", "The ID does not match."]);
  // A rejected attempt is not sent again by itself.
  const again = await outbox.flush(USER.id, { force: true });
  assert.equal(again.sent + again.rejected + again.retry, 0);
});

test("a 401 keeps everything and flags that the postman must log in again", async () => {
  const store = new MemoryStore();
  const outbox = new Outbox({ store, fetch: fakeFetch([], { session: [401, { error: { code: "unauthorized" } }] }) });
  await outbox.add(entry("a1"));
  const result = await outbox.flush(USER.id);
  assert.equal(result.login, true);
  assert.equal(outbox.loginRequired, true);
  assert.equal((await store.all()).length, 1);
});

test("a 401 on the POST itself keeps the attempt too", async () => {
  const store = new MemoryStore();
  const outbox = new Outbox({ store, fetch: fakeFetch([[401, {}]]) });
  await outbox.add(entry("a1"));
  const result = await outbox.flush(USER.id);
  assert.equal(result.login, true);
  assert.equal((await store.all())[0].state, "pending");
});

test("attempts are sent one at a time, oldest first, and a failure stops the run", async () => {
  const store = new MemoryStore();
  const fetch = fakeFetch([[201, {}], [201, {}], [500, {}], [201, {}]]);
  const outbox = new Outbox({ store, fetch });
  await outbox.add(entry("c", { now: 3 }));
  await outbox.add(entry("a", { now: 1 }));
  await outbox.add(entry("b", { now: 2 }));
  await outbox.add(entry("d", { now: 4 }));
  // Two flushes at once share one run.
  const [r1, r2] = await Promise.all([outbox.flush(USER.id), outbox.flush(USER.id)]);
  assert.equal(r1, r2);
  assert.equal(fetch.maxInFlight, 1);
  const sent = fetch.log.filter((l) => l.url === "/api/v1/attempts").map((l) => JSON.parse(l.init.body.get("meta")).attempt_id);
  assert.deepEqual(sent, ["a", "b", "c"]);
  assert.deepEqual((await store.all()).map((e) => e.attempt_id).sort(), ["c", "d"]);
});

test("another user's attempts are not sent with this session", async () => {
  const store = new MemoryStore();
  const fetch = fakeFetch([[201, {}]]);
  const outbox = new Outbox({ store, fetch });
  const other = entry("x");
  other.user_id = 99;
  await outbox.add(other);
  const result = await outbox.flush(USER.id);
  assert.equal(result.sent, 0);
  assert.equal(fetch.log.length, 0);
});

test("offline before the session answers: nothing changes", async () => {
  const store = new MemoryStore();
  const outbox = new Outbox({ store, fetch: fakeFetch([], { session: new TypeError("offline") }) });
  await outbox.add(entry("a1"));
  const result = await outbox.flush(USER.id);
  assert.equal(result.offline, true);
  const [e] = await store.all();
  assert.equal(e.tries, 0);
});

async function rejectedOutbox(answers, { now = () => 50_000 } = {}) {
  const store = new MemoryStore();
  const body = { error: { code: "transition_not_allowed", message: "Already recorded.", fields: {} } };
  const fetch = fakeFetch([[409, body], ...answers]);
  const outbox = new Outbox({ store, fetch, now });
  await outbox.add(entry("a1"));
  await outbox.flush(USER.id);
  return { store, fetch, outbox };
}

const posts = (fetch) => fetch.log.filter((l) => l.url === "/api/v1/attempts").length;

test("a refused attempt records when it was refused", async () => {
  const { store } = await rejectedOutbox([]);
  const [e] = await store.all();
  assert.equal(e.state, "rejected");
  assert.equal(e.rejected_at, 50_000);
});

test("dismissing a rejected attempt keeps it on the phone and never sends it again", async () => {
  const { store, fetch, outbox } = await rejectedOutbox([[201, {}]]);
  let changes = 0;
  outbox.onChange = () => (changes += 1);
  assert.equal(await outbox.dismiss("a1"), true);
  assert.equal(changes, 1);
  const [e] = await store.all();
  assert.equal(e.state, "dismissed");
  assert.equal(e.dismissed_at, 50_000);
  // The evidence is all still there.
  assert.equal(e.files.length, 1);
  assert.equal(e.error.code, "transition_not_allowed");
  assert.equal(e.meta.attempt_id, "a1");
  const again = await outbox.flush(USER.id, { force: true });
  assert.equal(again.sent + again.rejected + again.retry, 0);
  assert.equal(posts(fetch), 1);
  assert.equal((await store.all()).length, 1);
});

test("dismissing forgets the full ID number, keeping its last four digits", async () => {
  const { store, outbox } = await rejectedOutbox([]);
  const [entry] = await store.all();
  entry.meta.recipient = { name: "Nông Hồng Hà", id_number: "020194797926" };
  await store.put(entry);
  await outbox.dismiss("a1");
  const [e] = await store.all();
  assert.equal(e.meta.recipient.id_number, null);
  assert.equal(e.meta.recipient.id_last4, "7926");
  assert.equal(JSON.stringify(e).includes("020194797926"), false);
});

test("only a rejected attempt can be dismissed: a pending one is still sent", async () => {
  const store = new MemoryStore();
  const fetch = fakeFetch([[201, {}]]);
  const outbox = new Outbox({ store, fetch });
  await outbox.add(entry("a1"));
  assert.equal(await outbox.dismiss("a1"), false);
  assert.equal(await outbox.dismiss("nope"), false);
  assert.equal((await store.all())[0].state, "pending");
  assert.equal((await outbox.flush(USER.id)).sent, 1);
});

test("sending a rejected attempt again resets it and sends it at once", async () => {
  let now = 50_000;
  const { store, fetch, outbox } = await rejectedOutbox([[201, { envelope_state: "attempt_failed" }]], { now: () => now });
  const [e] = await store.all();
  e.tries = 6; // as if it had backed off before the refusal
  e.next_at = now + 300_000;
  assert.equal(await outbox.retry("a1"), true);
  const [queued] = await store.all();
  assert.deepEqual([queued.state, queued.tries, queued.next_at, queued.error], ["pending", 0, 0, null]);
  now += 1;
  const result = await outbox.flush(USER.id); // due now, without forcing
  assert.equal(result.sent, 1);
  assert.equal(posts(fetch), 2);
  assert.equal((await store.all()).length, 0);
});

test("a dismissed attempt can still be sent again; a pending one is left alone", async () => {
  const { store, outbox } = await rejectedOutbox([]);
  await outbox.dismiss("a1");
  assert.equal(await outbox.retry("a1"), true);
  assert.equal((await store.all())[0].state, "pending");
  assert.equal(await outbox.retry("a1"), false);
});

// --- Progress while syncing ------------------------------------------------------------------

/** An entry whose photo weighs `size` bytes. */
function sized(id, size, now) {
  const meta = { attempt_id: id, stop_id: 5, envelope_code: `HC${id}`, outcome: "delivered" };
  const files = [{ field: "photo", blob: new Blob([new Uint8Array(size)], { type: "image/jpeg" }), sha256: "b".repeat(64), filename: "p.jpg" }];
  return makeEntry({ userId: USER.id, meta, files, now });
}

/** Every progress report of an outbox, and every store.all() it made. */
function watched(store, fetch) {
  const reports = [];
  const settled = [];
  let reads = 0;
  const all = store.all.bind(store);
  store.all = async () => { reads += 1; return all(); };
  const outbox = new Outbox({ store, fetch, onProgress: (p) => reports.push(p), onSettled: (e, v) => settled.push([e.attempt_id, v]) });
  return { outbox, reports, settled, reads: () => reads };
}

/** Each report's invariants: nothing counted twice, nothing below zero. */
function assertSane(reports) {
  for (const p of reports.filter(Boolean)) {
    assert.ok(p.done <= p.total, JSON.stringify(p));
    assert.ok(p.bytesLeft >= 0 && p.bytesLeft <= p.bytesTotal, JSON.stringify(p));
    assert.equal(p.done, p.sent + p.rejected);
  }
}

test("an entry keeps what it weighs: its files and its meta", () => {
  const e = sized("w1", 150_000, 1);
  assert.equal(e.bytes, 150_000 + new TextEncoder().encode(JSON.stringify(e.meta)).length);
  assert.equal(entryBytes(e), e.bytes);
  // Vietnamese text counts in bytes, not characters.
  const named = makeEntry({ userId: 1, meta: { attempt_id: "v", note: "Đã giao" }, files: [] });
  assert.equal(named.bytes, JSON.stringify(named.meta).length + 2); // Đ and ã take two bytes each
});

test("a flush counts down as each attempt is acknowledged: attempts, bytes, the one on the wire", async () => {
  const store = new MemoryStore();
  const fetch = fakeFetch([[201, {}], [201, {}], [201, {}]]);
  const { outbox, reports, settled } = watched(store, fetch);
  const entries = [sized("a", 1000, 1), sized("b", 2000, 2), sized("c", 4000, 3)];
  for (const e of entries) await outbox.add(e);
  const total = entries.reduce((s, e) => s + e.bytes, 0);
  await outbox.flush(USER.id);

  assert.equal(reports.at(-1), null); // the end of the flush
  const shown = reports.filter(Boolean);
  assert.deepEqual(shown[0], { total: 3, done: 0, sent: 0, rejected: 0, bytesTotal: total, bytesLeft: total, current: null });
  // Before each POST: which attempt goes, with all that is left; after each ack: one fewer.
  const onWire = shown.filter((p) => p.current).map((p) => [p.current.attempt_id, p.done, p.bytesLeft]);
  assert.deepEqual(onWire, [["a", 0, total], ["b", 1, total - entries[0].bytes], ["c", 2, entries[2].bytes]]);
  const acked = shown.filter((p) => !p.current && p.done).map((p) => [p.done, p.bytesLeft]);
  assert.deepEqual(acked, [[1, total - entries[0].bytes], [2, entries[2].bytes], [3, 0]]);
  assert.deepEqual(settled, [["a", "ack"], ["b", "ack"], ["c", "ack"]]);
  assert.equal(outbox.progress, null);
  assertSane(reports);
});

test("the progress holds no blob and no ID number, and reports are copies", async () => {
  const store = new MemoryStore();
  const { outbox, reports } = watched(store, fakeFetch([[201, {}]]));
  const e = sized("a", 10, 1);
  e.meta.recipient = { id_number: "020194797926" };
  await outbox.add(e);
  await outbox.flush(USER.id);
  const text = JSON.stringify(reports);
  assert.equal(text.includes("020194797926"), false);
  assert.deepEqual(Object.keys(reports.find((p) => p?.current).current).sort(), ["attempt_id", "bytes", "envelope_code", "outcome"]);
  reports[0].done = 99; // a screen may keep a report: it is not the outbox's own object
  assert.notEqual(reports[1].done, 99);
});

test("a flush reads the store once, not after every acknowledgement", async () => {
  const store = new MemoryStore();
  const n = 50;
  const { outbox, reads } = watched(store, fakeFetch(Array.from({ length: n }, () => [201, {}])));
  for (let i = 0; i < n; i += 1) await outbox.add(sized(`e${i}`, 100, i));
  const before = reads();
  const result = await outbox.flush(USER.id);
  assert.equal(result.sent, n);
  assert.equal(reads() - before, 1);
});

test("an attempt recorded during a flush is sent in it, after the others, and counted once", async () => {
  const store = new MemoryStore();
  const answers = Array.from({ length: 4 }, () => [201, {}]);
  const fetch = fakeFetch(answers);
  const { outbox, reports } = watched(store, fetch);
  const first = [sized("a", 1000, 1), sized("b", 1000, 2), sized("c", 1000, 3)];
  for (const e of first) await outbox.add(e);
  const late = sized("late", 5000, 10);
  let added;
  outbox.onSettled = (entry) => {
    // The postman saves another attempt while the first one is acknowledged.
    if (entry.attempt_id === "a") added = outbox.add(late);
  };
  const result = await outbox.flush(USER.id);
  await added;
  assert.equal(result.sent, 4);
  const sent = fetch.log.filter((l) => l.url === "/api/v1/attempts").map((l) => JSON.parse(l.init.body.get("meta")).attempt_id);
  assert.deepEqual(sent, ["a", "b", "c", "late"]);
  assert.equal((await store.all()).length, 0);
  const shown = reports.filter(Boolean);
  const grown = shown.find((p) => p.total === 4);
  assert.ok(grown, "the total grows when an attempt joins");
  assert.equal(grown.bytesTotal, first.reduce((s, e) => s + e.bytes, 0) + late.bytes);
  const last = shown.at(-1);
  assert.deepEqual([last.done, last.total, last.bytesLeft], [4, 4, 0]);
  // The count left never goes up but for the one that joined.
  const left = shown.map((p) => p.total - p.done);
  assert.deepEqual(left.filter((n, i) => i && n > left[i - 1]).length, 1);
  assertSane(reports);
});

test("an attempt saved while the flush reads the store is sent once", async () => {
  const store = new MemoryStore();
  const fetch = fakeFetch([[201, {}], [201, {}], [201, {}]]);
  const outbox = new Outbox({ store, fetch });
  await outbox.add(sized("a", 10, 1));
  const all = store.all.bind(store);
  let added;
  store.all = async () => {
    added = outbox.add(sized("mid", 10, 2)); // saved while the queue is being read
    await added;
    return all(); // …so the read returns it too
  };
  const result = await outbox.flush(USER.id);
  assert.equal(result.sent, 2);
  const sent = fetch.log.filter((l) => l.url === "/api/v1/attempts").map((l) => JSON.parse(l.init.body.get("meta")).attempt_id);
  assert.deepEqual(sent, ["a", "mid"]);
});

test("another user's attempt saved during a flush is not sent with this session", async () => {
  const store = new MemoryStore();
  const fetch = fakeFetch([[201, {}], [201, {}]]);
  const outbox = new Outbox({ store, fetch });
  await outbox.add(sized("a", 10, 1));
  const other = sized("x", 10, 2);
  other.user_id = 99;
  outbox.onSettled = () => outbox.add(other);
  const result = await outbox.flush(USER.id);
  assert.equal(result.sent, 1);
  assert.deepEqual((await store.all()).map((e) => e.attempt_id), ["x"]);
});

test("a refused attempt counts as done; a failing network ends the progress with the rest kept", async () => {
  const store = new MemoryStore();
  const refusal = { error: { code: "invalid", message: "No.", fields: {} } };
  const fetch = fakeFetch([[201, {}], [422, refusal], new TypeError("offline")]);
  const { outbox, reports, settled } = watched(store, fetch);
  for (const e of [sized("a", 100, 1), sized("b", 200, 2), sized("c", 300, 3), sized("d", 400, 4)]) await outbox.add(e);
  const result = await outbox.flush(USER.id);
  assert.deepEqual([result.sent, result.rejected, result.retry], [1, 1, 1]);
  assert.deepEqual(settled, [["a", "ack"], ["b", "rejected"]]);
  const shown = reports.filter(Boolean);
  const last = shown.at(-1);
  assert.deepEqual([last.done, last.sent, last.rejected, last.total], [2, 1, 1, 4]);
  assert.equal(last.current.attempt_id, "c"); // the one that failed on the wire
  assert.equal(reports.at(-1), null);
  assert.deepEqual((await store.all()).map((e) => [e.attempt_id, e.state]).sort(), [["b", "rejected"], ["c", "pending"], ["d", "pending"]]);
  assertSane(reports);
});

test("no progress is reported when nothing is due or the phone is offline", async () => {
  const store = new MemoryStore();
  const { outbox, reports } = watched(store, fakeFetch([], { session: new TypeError("offline") }));
  await outbox.flush(USER.id);
  await outbox.add(sized("a", 10, 1));
  await outbox.flush(USER.id);
  assert.deepEqual(reports, []);
});
