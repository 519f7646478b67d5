// The service worker's sync event: the browser keeps the tag (and tries again) while attempts
// wait, and drops it only when the outbox is empty.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  OutboxNotSent, askClientToFlush, flushOutbox, pendingCount, syncOutbox,
} from "../../pwa/static/js/background-sync.js";
import { Outbox, makeEntry } from "../../pwa/static/js/outbox.js";

const USER = { id: 7, username: "buuta1", role: "postman" };

/** An open app: answers the worker's "flush" with `answer` (or never, when null). */
function appClient(answer, log = []) {
  return {
    postMessage(message, [port]) {
      log.push(message);
      if (answer !== null) setTimeout(() => port.postMessage(answer), 1);
    },
  };
}

const never = () => assert.fail("the worker must not send itself");

test("an open app that sent everything: the sync event succeeds", async () => {
  const log = [];
  const outcome = await syncOutbox({
    appWindows: async () => [appClient({ pending: 0 }, log)], askClient: (c) => askClientToFlush(c), flushHere: never,
  });
  assert.equal(outcome.pending, 0);
  assert.deepEqual(log, [{ type: "flush" }]);
});

test("an open app that could not send (no signal): the event fails, so the browser keeps the tag", async () => {
  await assert.rejects(
    syncOutbox({
      appWindows: async () => [appClient({ pending: 3, online: false })],
      askClient: (c) => askClientToFlush(c),
      flushHere: never,
    }),
    (err) => err instanceof OutboxNotSent && err.outcome.pending === 3,
  );
});

test("an app that does not answer in time (frozen in the background): the worker sends itself", async () => {
  let sentHere = 0;
  const outcome = await syncOutbox({
    appWindows: async () => [appClient(null)],
    askClient: (c) => askClientToFlush(c, { timeoutMs: 20 }),
    flushHere: async () => ({ pending: 0, sent: ++sentHere }),
  });
  assert.deepEqual([outcome.pending, sentHere], [0, 1]);
});

test("an app with no count to give (no postman yet, or an old version): the worker sends itself", async () => {
  for (const answer of [{ pending: null }, { done: true }]) {
    const outcome = await syncOutbox({
      appWindows: async () => [appClient(answer)],
      askClient: (c) => askClientToFlush(c),
      flushHere: async () => ({ pending: 0, sent: 2 }),
    });
    assert.equal(outcome.sent, 2);
  }
});

test("no app open: the worker sends; left over attempts fail the event", async () => {
  const ok = await syncOutbox({ appWindows: async () => [], askClient: never, flushHere: async () => ({ pending: 0 }) });
  assert.equal(ok.pending, 0);
  await assert.rejects(
    syncOutbox({ appWindows: async () => [], askClient: never, flushHere: async () => ({ pending: 1, offline: true }) }),
    OutboxNotSent,
  );
});

test("a client that cannot be posted to counts as no answer", async () => {
  const outcome = await askClientToFlush({ postMessage() { throw new Error("gone"); } }, { timeoutMs: 5000 });
  assert.equal(outcome, null);
});

class MemoryStore {
  constructor(entries = []) { this.map = new Map(entries.map((e) => [e.attempt_id, e])); }
  async put(e) { this.map.set(e.attempt_id, e); }
  async all() { return [...this.map.values()]; }
  async delete(id) { this.map.delete(id); }
}

function entry(id, userId = USER.id) {
  const meta = { attempt_id: id, stop_id: 5, envelope_code: "HC000000015VN", outcome: "failed" };
  return makeEntry({ userId, meta, files: [], now: 1000 });
}

test("the worker's own flush: offline, every attempt is still pending", async () => {
  const store = new MemoryStore([entry("a"), entry("b")]);
  const outbox = new Outbox({ store, fetch: async () => { throw new TypeError("Failed to fetch"); } });
  const outcome = await flushOutbox({ outbox, lastUser: async () => USER });
  assert.deepEqual([outcome.offline, outcome.pending], [true, 2]);
});

test("the worker's own flush: online, the last postman's attempts are sent and none is left", async () => {
  const store = new MemoryStore([entry("a"), entry("b"), entry("other", 99)]);
  const posted = [];
  const fetch = async (url, init = {}) => {
    if (url === "/api/v1/session") return new Response(JSON.stringify({ user: USER, csrf_token: "tok" }));
    posted.push(JSON.parse(init.body.get("meta")).attempt_id);
    return new Response(JSON.stringify({ attempt_number: 1 }), { status: 201 });
  };
  const outcome = await flushOutbox({ outbox: new Outbox({ store, fetch }), lastUser: async () => USER });
  assert.deepEqual([outcome.sent, outcome.pending, posted], [2, 0, ["a", "b"]]);
  assert.equal(pendingCount(await store.all()), 1, "another postman's attempt waits for them");
});

test("nobody ever logged in on the phone: nothing to send, the event succeeds", async () => {
  const outbox = new Outbox({ store: new MemoryStore(), fetch: never });
  assert.equal((await flushOutbox({ outbox, lastUser: async () => undefined })).pending, 0);
});

test("pending counts only attempts waiting for the network", () => {
  const entries = [{ state: "pending" }, { state: "rejected" }, { state: "dismissed" }, { state: "pending" }];
  assert.equal(pendingCount(entries), 2);
});
