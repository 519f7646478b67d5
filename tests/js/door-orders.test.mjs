// The postman's order kept on the phone until the server has it: laid over the run, sent,
// retried, dropped when refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DoorOrders, classifyOrderResponse, orderUrl } from "../../pwa/static/js/door-orders.js";

function memoryStore() {
  const kv = new Map();
  return {
    kv,
    async getValue(k) { return kv.has(k) ? structuredClone(kv.get(k)) : undefined; },
    async setValue(k, v) { kv.set(k, structuredClone(v)); },
    async deleteValue(k) { kv.delete(k); },
  };
}

function runData() {
  const stop = (id, position, door) => ({ stop_id: id, position, visit: position, door });
  return { runs: [{ id: 7, stops: [stop(1, 1, 1), stop(2, 2, 1), stop(3, 3, 3), stop(4, 4, 4)] }] };
}

/** A fake server: answers the session, then each order with `answers` in turn. */
function server(answers, { userId = 5 } = {}) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    calls.push({ url, init });
    if (url === "/api/v1/session") return json(200, { user: { id: userId }, csrf_token: "tok" });
    const next = answers.shift();
    if (next instanceof Error) throw next;
    return typeof next === "function" ? next(url, init) : next;
  };
  return { fetch, calls };
}

function json(status, body) {
  return { status, ok: status >= 200 && status < 300, redirected: false, json: async () => body };
}

test("an order is kept across a restart and laid over the run the server sends", async () => {
  const store = memoryStore();
  const orders = await new DoorOrders({ store, fetch: null }).load(5);
  await orders.keep(7, [4, 1, 2, 3]);
  const again = await new DoorOrders({ store, fetch: null }).load(5); // the app reloaded
  assert.equal(again.count, 1);
  assert.equal(again.waiting(7), true);
  const data = runData();
  assert.deepEqual(await again.overlay(data), []);
  assert.deepEqual(data.runs[0].stops.map((s) => s.stop_id), [4, 1, 2, 3]);
  assert.equal(again.count, 1); // still to be sent
});

test("an order that no longer fits the run is dropped: the server's order stays", async () => {
  const store = memoryStore();
  const orders = await new DoorOrders({ store, fetch: null }).load(5);
  await orders.keep(7, [4, 1, 2, 3, 9]);
  await orders.keep(8, [1]); // a run no longer served (closed)
  const data = runData();
  assert.deepEqual((await orders.overlay(data)).sort(), ["7", "8"]);
  assert.deepEqual(data.runs[0].stops.map((s) => s.stop_id), [1, 2, 3, 4]);
  assert.equal(orders.count, 0);
  assert.equal(store.kv.size, 0);
});

test("sent and taken, the order is forgotten; the request is the contract's", async () => {
  const store = memoryStore();
  const { fetch, calls } = server([json(200, { run_id: 7, state: "planned", doors: [[4], [1, 2], [3]] })]);
  const orders = await new DoorOrders({ store, fetch }).load(5);
  await orders.keep(7, [4, 1, 2, 3]);
  const result = await orders.send();
  assert.deepEqual(result, { sent: 1, dropped: [], reasons: [], retry: 0, login: false });
  assert.equal(orders.count, 0);
  assert.equal(store.kv.size, 0);
  const post = calls[1];
  assert.equal(post.url, orderUrl(7));
  assert.equal(post.url, "/api/v1/runs/7/order");
  assert.equal(post.init.method, "POST");
  assert.equal(post.init.headers["X-CSRFToken"], "tok");
  assert.equal(post.init.headers["Content-Type"], "application/json");
  assert.deepEqual(JSON.parse(post.init.body), { stop_ids: [4, 1, 2, 3] });
});

test("no signal, a failing server or an expired token: kept and sent again later", async () => {
  for (const answer of [new TypeError("Failed to fetch"), json(503, null), json(400, { error: { code: "csrf_failed" } }),
    json(409, { error: { code: "run_busy" } }), json(200, "<html>portal</html>")]) {
    const { fetch } = server([answer]);
    const orders = await new DoorOrders({ store: memoryStore(), fetch }).load(5);
    await orders.keep(7, [4, 1, 2, 3]);
    const result = await orders.send();
    assert.equal(result.retry, 1, String(answer?.status ?? answer));
    assert.equal(orders.count, 1);
  }
  const offline = await new DoorOrders({ store: memoryStore(), fetch: async () => { throw new TypeError("offline"); } }).load(5);
  await offline.keep(7, [1, 2, 3, 4]);
  assert.equal((await offline.send()).retry, 1);
  assert.equal(offline.count, 1);
});

test("refused for good (closed run, changed stops, not found): dropped", async () => {
  for (const answer of [json(409, { error: { code: "run_closed" } }), json(422, { error: { code: "bad_order" } }),
    json(404, { error: { code: "run_not_found" } })]) {
    const { fetch } = server([answer]);
    const orders = await new DoorOrders({ store: memoryStore(), fetch }).load(5);
    await orders.keep(7, [4, 1, 2, 3]);
    const result = await orders.send();
    assert.deepEqual(result.dropped, ["7"]);
    assert.deepEqual(result.reasons, [(await answer.json()).error.code]);
    assert.equal(orders.count, 0);
  }
});

test("logged out, or someone else logged in: kept, and the postman must log in", async () => {
  const { fetch } = server([], { userId: 6 });
  const orders = await new DoorOrders({ store: memoryStore(), fetch }).load(5);
  await orders.keep(7, [4, 1, 2, 3]);
  assert.equal((await orders.send()).login, true);
  assert.equal(orders.count, 1);
  const expired = await new DoorOrders({ store: memoryStore(), fetch: async () => json(401, null) }).load(5);
  await expired.keep(7, [4, 1, 2, 3]);
  assert.equal((await expired.send()).login, true);
});

test("moved again while the first order was on its way: the newer one stays to be sent", async () => {
  let orders;
  const { fetch } = server([async () => {
    await orders.keep(7, [3, 4, 1, 2]);
    return json(200, { run_id: 7, state: "planned", doors: [] });
  }]);
  orders = await new DoorOrders({ store: memoryStore(), fetch }).load(5);
  await orders.keep(7, [4, 1, 2, 3]);
  const [a, b] = await Promise.all([orders.send(), orders.send()]); // one send at a time
  assert.equal(a, b);
  assert.equal(a.sent, 1);
  assert.equal(orders.count, 1);
  assert.deepEqual(orders.orders["7"].stop_ids, [3, 4, 1, 2]);
});

test("classifyOrderResponse", () => {
  assert.equal(classifyOrderResponse(200), "ack");
  assert.equal(classifyOrderResponse(401), "login");
  assert.equal(classifyOrderResponse(0), "retry");
  assert.equal(classifyOrderResponse(500), "retry");
  assert.equal(classifyOrderResponse(429), "retry");
  assert.equal(classifyOrderResponse(400, "csrf_failed"), "retry");
  assert.equal(classifyOrderResponse(413), "dropped");
  assert.equal(classifyOrderResponse(403), "dropped");
});
