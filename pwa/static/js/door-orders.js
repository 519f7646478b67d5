// The postman's own order of the doors, kept on the phone until the server has it.
// One order a run, waiting under "doorOrders:<user id>" in IndexedDB's kv store: it survives a
// reload offline, is laid over the run each time the server sends it (the phone's order wins
// while it waits), and is sent when the app syncs. Sent and taken, it is forgotten; refused (the
// run was closed, or its stops changed meanwhile), it is dropped and the server's order shown.
import { applyOrder, sameOrder } from "./doors.js";

export const orderUrl = (runId) => `/api/v1/runs/${encodeURIComponent(runId)}/order`;
const SESSION_URL = "/api/v1/session";
// Answers after which the same order may be taken later: the network, the server, the session.
const RETRY_CODES = new Set(["csrf_failed", "run_busy"]);

/**
 * What to do with the server's answer to an order: "ack" (taken), "login" (log in again, keep
 * it), "retry" (keep it, send it again at the next sync) or "dropped" (refused for good).
 */
export function classifyOrderResponse(status, code = null) {
  if (status >= 200 && status < 300) return "ack";
  if (status === 401) return "login";
  if (status === 0 || status >= 500 || status === 408 || status === 429) return "retry";
  if (RETRY_CODES.has(code)) return "retry";
  if (status >= 400) return "dropped";
  return "retry"; // a redirect (a captive portal): not the server's word
}

export class DoorOrders {
  /** store: {getValue, setValue, deleteValue} (store.js); fetch: window.fetch. */
  constructor({ store, fetch }) {
    this.store = store;
    this.fetch = fetch;
    this.userId = null;
    this.orders = {}; // run id -> {stop_ids, saved_at}
    this.sending = null;
  }

  key() {
    return `doorOrders:${this.userId}`;
  }

  async load(userId) {
    this.userId = userId;
    this.orders = (await this.store.getValue(this.key())) ?? {};
    return this;
  }

  async save() {
    if (Object.keys(this.orders).length) await this.store.setValue(this.key(), this.orders);
    else await this.store.deleteValue(this.key());
  }

  /** How many runs have an order waiting to be sent. */
  get count() {
    return Object.keys(this.orders).length;
  }

  waiting(runId) {
    return String(runId) in this.orders;
  }

  /** Keep the postman's new order of a run (stop ids) until the server has it. */
  async keep(runId, stopIds, now = Date.now()) {
    this.orders[String(runId)] = { stop_ids: [...stopIds], saved_at: now };
    await this.save();
  }

  /**
   * Lay the waiting orders over runs the server has just sent (or the phone kept). An order
   * that no longer fits its run (the supervisor took an envelope off, the run is gone or
   * closed) would be refused: it is dropped, and the run keeps the server's order.
   * Returns the ids of the runs whose order was dropped.
   */
  async overlay(runData) {
    const runs = new Map((runData?.runs ?? []).map((run) => [String(run.id), run]));
    const dropped = [];
    for (const [runId, order] of Object.entries(this.orders)) {
      if (!applyOrder(runs.get(runId), order.stop_ids)) dropped.push(runId);
    }
    for (const runId of dropped) delete this.orders[runId];
    if (dropped.length) await this.save();
    return dropped;
  }

  /**
   * Send every waiting order, one run at a time. Result: {sent, dropped: [run ids], reasons:
   * [the server's error codes for them], retry, login}.
   * One send at a time: a second call waits for the first and reports its result.
   */
  send() {
    this.sending ??= this._sendAll().finally(() => {
      this.sending = null;
    });
    return this.sending;
  }

  async _sendAll() {
    const result = { sent: 0, dropped: [], reasons: [], retry: 0, login: false };
    if (!this.count) return result;
    let csrf;
    try {
      // A cached app shell holds no fresh CSRF token: ask the session for one.
      const response = await this.fetch(SESSION_URL, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) return { ...result, login: true };
      const session = response.ok ? await response.json() : null;
      if (!session) return { ...result, retry: this.count };
      if (this.userId != null && session.user?.id !== this.userId) return { ...result, login: true };
      csrf = session.csrf_token;
    } catch {
      return { ...result, retry: this.count };
    }
    for (const [runId, order] of Object.entries(this.orders)) {
      const { verdict, code } = await this._send(runId, order.stop_ids, csrf);
      if (verdict === "login") return { ...result, login: true };
      if (verdict === "retry") result.retry += 1;
      else if (verdict === "ack") {
        result.sent += 1;
        // Moved again while this one was on its way: the newer order stays to be sent.
        if (sameOrder(this.orders[runId]?.stop_ids, order.stop_ids)) delete this.orders[runId];
      } else {
        result.dropped.push(runId);
        result.reasons.push(code);
        if (sameOrder(this.orders[runId]?.stop_ids, order.stop_ids)) delete this.orders[runId];
      }
    }
    await this.save();
    return result;
  }

  async _send(runId, stopIds, csrf) {
    let response;
    try {
      response = await this.fetch(orderUrl(runId), {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf ?? "" },
        body: JSON.stringify({ stop_ids: stopIds }),
      });
    } catch {
      return { verdict: "retry", code: "network" };
    }
    let body = null;
    try {
      body = await response.json();
    } catch { /* not JSON: a proxy's or a captive portal's page */ }
    // Only the server's own answer counts: a portal's page is no acknowledgement.
    const code = body?.error?.code ?? null;
    if (response.redirected || (response.ok && String(body?.run_id) !== String(runId))) return { verdict: "retry", code };
    return { verdict: classifyOrderResponse(response.status, code), code };
  }
}
