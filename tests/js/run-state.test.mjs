// The run as the postman sees it: server states overlaid with the outbox's attempts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { afterFailure, applyReceipt, groupStops, isSuperseded, progress, shownRejected, stopStatus } from "../../pwa/static/js/run-state.js";

const T0 = Date.parse("2026-11-23T09:00:00.000+07:00");

function stop(id, extra = {}) {
  return { stop_id: id, position: id, envelope_code: `HC00000000${id}VN`, state: "out_for_delivery",
    attempts_made: 0, attempt_number: 1, last_attempt: null, ...extra };
}

/** An outbox entry as outbox.js keeps it (makeEntry, then what _send adds on a refusal). */
function entry(id, stopId, { state = "pending", outcome = "failed", at = T0, rejectedAt = null } = {}) {
  const device_time = new Date(at).toISOString();
  return {
    attempt_id: id, user_id: 7, stop_id: stopId, envelope_code: `HC00000000${stopId}VN`, outcome,
    meta: { attempt_id: id, stop_id: stopId, outcome, reason_code: outcome === "failed" ? "not_home" : null, device_time },
    files: [], state, tries: 0, next_at: 0, created_at: at, error: null,
    ...(state === "rejected" || state === "dismissed"
      ? { rejected_at: rejectedAt ?? at + 5_000, error: { status: 409, code: "transition_not_allowed", message: "", fields: {} } }
      : {}),
  };
}

const run = (...stops) => ({ runs: [{ stops }] });

test("a pending attempt wins over the server's state and counts in the progress", () => {
  const s = stop(1);
  const status = stopStatus(s, [entry("p", 1, { outcome: "delivered" })]);
  assert.deepEqual([status.status, status.pending, status.rejected, status.attemptNumber], ["delivered", true, null, 2]);
  assert.deepEqual(progress(run(s, stop(2)), [entry("p", 1)]), { delivered: 0, failed: 1, left: 1, total: 2 });
});

test("a stop whose latest attempt was refused is 'refused', not open: it waits for the postman", () => {
  const s = stop(1);
  const r = entry("r", 1, { state: "rejected" });
  const status = stopStatus(s, [r]);
  assert.deepEqual([status.status, status.pending, status.finished, status.attemptNumber], ["refused", false, false, 1]);
  assert.equal(status.rejected, r);
  assert.equal(status.canAttempt, true); // the server still has it out for delivery: it can be redone
  assert.deepEqual(shownRejected(run(s), [r]), [r]);
  assert.deepEqual(progress(run(s), [r]), { delivered: 0, failed: 0, left: 1, total: 1 });
});

test("refused after another phone's attempt was accepted: refused, and nothing left to attempt", () => {
  const first = { attempt_id: "a", outcome: "failed", reason_code: "refused", at: new Date(T0 + 30_000).toISOString() };
  const s = stop(1, { state: "attempt_failed", attempts_made: 1, attempt_number: 2, last_attempt: first });
  const r = entry("r", 1, { state: "rejected", at: T0, rejectedAt: T0 + 60_000 });
  const status = stopStatus(s, [r]);
  assert.deepEqual([status.status, status.finished, status.canAttempt], ["refused", false, false]);
  // Dismissed, the stop is what the server says: failed, finished.
  const dismissed = stopStatus(s, [{ ...r, state: "dismissed" }]);
  assert.deepEqual([dismissed.status, dismissed.finished, dismissed.rejected], ["failed", true, null]);
});

test("a newer attempt waiting to sync decides the status over an older refusal, which stays shown", () => {
  const s = stop(1);
  const r = entry("r", 1, { state: "rejected", at: T0 });
  const p = entry("p", 1, { outcome: "delivered", at: T0 + 60_000 });
  const status = stopStatus(s, [r, p]);
  assert.deepEqual([status.status, status.pending, status.finished, status.canAttempt], ["delivered", true, true, false]);
  assert.equal(status.rejected, r);
  // The other way round (an old attempt sent again after a newer one was refused): refused.
  assert.equal(stopStatus(s, [{ ...p, created_at: T0 - 1 }, r]).status, "refused");
});

test("a dismissed attempt is neither pending, nor rejected, nor shown, nor counted", () => {
  const s = stop(1);
  const d = entry("d", 1, { state: "dismissed", outcome: "delivered" });
  const status = stopStatus(s, [d]);
  assert.deepEqual([status.status, status.pending, status.rejected, status.attemptNumber], ["open", false, null, 1]);
  assert.deepEqual(progress(run(s), [d]), { delivered: 0, failed: 0, left: 1, total: 1 });
  assert.deepEqual(shownRejected(run(s), [d]), []);
});

test("a rejected attempt is no longer shown once a later attempt for the stop is acknowledged", () => {
  const data = run(stop(1), stop(2));
  const r = entry("r", 1, { state: "rejected", at: T0, rejectedAt: T0 + 60_000 });
  const other = entry("r2", 2, { state: "rejected" });
  // The postman redoes the stop after seeing the refusal; the server acknowledges it.
  const redo = entry("n", 1, { outcome: "delivered", at: T0 + 120_000 });
  applyReceipt(data, redo, { envelope_state: "delivered", attempt_number: 1 });
  const [s1] = data.runs[0].stops;
  assert.equal(isSuperseded(r, s1), true);
  const status = stopStatus(s1, [r, other]); // the acknowledged one left the outbox; r stays stored
  assert.deepEqual([status.status, status.pending, status.rejected], ["delivered", false, null]);
  assert.deepEqual(shownRejected(data, [r, other]), [other]); // other stops are not affected
});

test("the same from the server's run: last_attempt made after the refusal hides it", () => {
  const r = entry("r", 1, { state: "rejected", at: T0, rejectedAt: T0 + 60_000 });
  const later = { attempt_id: "srv", outcome: "failed", reason_code: "not_home", at: "2026-11-23T02:05:00.000000+00:00" };
  const s = stop(1, { state: "attempt_failed", last_attempt: later });
  assert.equal(stopStatus(s, [r]).rejected, null);
});

test("an attempt acknowledged before the refusal (the one that caused it) does not hide it", () => {
  // Phone B recorded offline at T0; phone A's attempt at T0+30 s was accepted first; B's was
  // refused when it came online at T0+60 s.
  const r = entry("r", 1, { state: "rejected", at: T0, rejectedAt: T0 + 60_000 });
  const first = { attempt_id: "a", outcome: "failed", reason_code: "refused", at: new Date(T0 + 30_000).toISOString() };
  const s = stop(1, { state: "attempt_failed", last_attempt: first });
  assert.equal(isSuperseded(r, s), false);
  assert.equal(stopStatus(s, [r]).rejected, r);
  assert.deepEqual(shownRejected(run(s), [r]), [r]);
});

test("the rejected attempt itself as last_attempt, or no stop at all, does not hide it", () => {
  const r = entry("r", 1, { state: "rejected" });
  const self = stop(1, { last_attempt: { attempt_id: "r", outcome: "failed", at: new Date(T0 + 99_000).toISOString() } });
  assert.equal(isSuperseded(r, self), false);
  assert.equal(isSuperseded(r, undefined), false);
  assert.deepEqual(shownRejected(null, [r]), [r]);
});

test("of several rejected attempts on a stop, the latest still shown is the one on the card", () => {
  const s = stop(1);
  const a = entry("a", 1, { state: "rejected", at: T0 });
  const b = entry("b", 1, { state: "rejected", at: T0 + 1_000 });
  assert.equal(stopStatus(s, [a, b]).rejected, b);
  assert.equal(stopStatus(s, [a, { ...b, state: "dismissed" }]).rejected, a);
});

/** A delivered entry collecting `fees` (what makeEntry keeps in meta). */
function delivery(id, stopId, fees, extra = {}) {
  const e = entry(id, stopId, { outcome: "delivered", ...extra });
  e.meta.fees_collected_vnd = fees;
  return e;
}

test("a delivered stop says what was collected: the attempt's amount when known, else the fees due", () => {
  const s = stop(1, { fees_due_vnd: 26000 });
  assert.equal(stopStatus(s, [delivery("p", 1, 26000)]).collectedVnd, 26000); // waiting to sync
  const data = run(stop(2, { fees_due_vnd: 26000 }));
  applyReceipt(data, delivery("q", 2, 26000), { envelope_state: "delivered", attempt_number: 1 });
  assert.equal(data.runs[0].stops[0].last_attempt.fees_collected_vnd, 26000);
  assert.equal(stopStatus(data.runs[0].stops[0], []).collectedVnd, 26000); // acknowledged
  // From the server's run alone (its last_attempt carries no amount): the fees due.
  const served = stop(3, { state: "delivered", fees_due_vnd: 30000, attempts_made: 1,
    last_attempt: { attempt_id: "s", outcome: "delivered", reason_code: null, at: "2026-11-23T02:00:00+00:00" } });
  assert.equal(stopStatus(served, []).collectedVnd, 30000);
  assert.equal(stopStatus(stop(4, { state: "delivered", fees_due_vnd: 0 }), []).collectedVnd, 0);
  // Nothing collected on a stop that is not delivered.
  assert.equal(stopStatus(stop(5, { fees_due_vnd: 26000 }), []).collectedVnd, null);
  assert.equal(stopStatus(stop(6, { fees_due_vnd: 26000 }), [entry("f", 6)]).collectedVnd, null);
});

test("a failed stop knows its reason, from the outbox or the server", () => {
  assert.equal(stopStatus(stop(1), [entry("f", 1)]).reasonCode, "not_home");
  const served = stop(2, { state: "attempt_failed", attempts_made: 1,
    last_attempt: { attempt_id: "s", outcome: "failed", reason_code: "phone_unreachable", at: "2026-11-23T02:00:00+00:00" } });
  assert.equal(stopStatus(served, []).reasonCode, "phone_unreachable");
  assert.equal(stopStatus(stop(3), []).reasonCode, null);
});

test("after a failure: tried again while home attempts remain, held at the office when none do", () => {
  const settings = { max_home_attempts: 2 };
  const first = stop(1, { attempts_made: 0 });
  let status = stopStatus(first, [entry("f", 1)]); // the first failure, waiting to sync
  assert.equal(status.attemptsMade, 1);
  assert.deepEqual(afterFailure(first, status, settings), { next: "again", attemptsLeft: 1 });
  const served = stop(2, { state: "attempt_failed", attempts_made: 1 });
  assert.deepEqual(afterFailure(served, stopStatus(served, []), settings), { next: "again", attemptsLeft: 1 });
  const second = stop(3, { attempts_made: 1, attempt_number: 2 });
  status = stopStatus(second, [entry("g", 3)]);
  assert.deepEqual(afterFailure(second, status, settings), { next: "hold", max: 2 });
  const spent = stop(4, { state: "attempt_failed", attempts_made: 2 });
  assert.deepEqual(afterFailure(spent, stopStatus(spent, []), settings), { next: "hold", max: 2 });
  const held = stop(5, { state: "held_at_office", attempts_made: 2 });
  assert.deepEqual(afterFailure(held, stopStatus(held, []), settings), { next: "held" });
  const returned = stop(6, { state: "returned_to_agency", attempts_made: 2 });
  assert.deepEqual(afterFailure(returned, stopStatus(returned, []), settings), { next: "returned" });
  // A policy of three attempts leaves two after the first.
  assert.deepEqual(afterFailure(served, stopStatus(served, []), { max_home_attempts: 3 }), { next: "again", attemptsLeft: 2 });
  // Not failed: nothing to say; no policy known (an old cached run): tried again, count unknown.
  assert.equal(afterFailure(stop(7), stopStatus(stop(7), []), settings), null);
  assert.deepEqual(afterFailure(served, stopStatus(served, []), {}), { next: "again", attemptsLeft: null });
});

test("the list: stops left (open or refused) apart from finished ones, each in route order", () => {
  const data = run(
    stop(3),
    stop(1, { state: "delivered", attempts_made: 1 }),
    stop(5, { state: "held_at_office", attempts_made: 2 }),
    stop(2),
    stop(4),
    stop(6),
  );
  const entries = [
    entry("p", 4, { outcome: "delivered" }), // waiting to sync: finished, still marked pending
    entry("r", 2, { state: "rejected" }), // refused: left, for the postman to decide
    entry("d", 6, { state: "dismissed", outcome: "delivered" }), // dismissed: the server's open
  ];
  const { left, finished } = groupStops(data, entries);
  assert.deepEqual(left.map((x) => [x.stop.stop_id, x.status.status]), [[2, "refused"], [3, "open"], [6, "open"]]);
  assert.deepEqual(finished.map((x) => [x.stop.stop_id, x.status.status, x.status.pending]),
    [[1, "delivered", false], [4, "delivered", true], [5, "failed", false]]);
  assert.deepEqual(progress(data, entries), { delivered: 2, failed: 1, left: 3, total: 6 });
  assert.deepEqual(groupStops(null, []), { left: [], finished: [], elsewhere: [] });
});

test("a refusal for a stop no longer on the run is kept apart, still waiting for a decision", () => {
  const gone = entry("g", 9, { state: "rejected" });
  const { left, finished, elsewhere } = groupStops(run(stop(1)), [gone, entry("d", 8, { state: "dismissed" })]);
  assert.deepEqual([left.length, finished.length], [1, 0]);
  assert.deepEqual(elsewhere, [gone]);
  assert.deepEqual(shownRejected(run(stop(1)), [gone]), [gone]); // counted in the sync bar too
});

test("a failed stop with attempts left may be tried again on the run, as the next attempt", () => {
  // Failed on the server earlier in the run, one home attempt left.
  const served = stop(1, { state: "attempt_failed", attempts_made: 1, attempt_number: 2, attempts_left: 1 });
  let status = stopStatus(served, []);
  assert.deepEqual([status.status, status.canRetry, status.attemptsLeft, status.attemptNumber], ["failed", true, 1, 2]);
  // Failed just now, waiting to sync: counted, so the retry is the second attempt.
  const fresh = stop(2, { attempts_left: 2 });
  status = stopStatus(fresh, [entry("f", 2)]);
  assert.deepEqual([status.status, status.pending, status.canRetry, status.attemptsLeft, status.attemptNumber],
    ["failed", true, true, 1, 2]);
  // A policy of three: failed twice (once synced, once waiting), one left, the third attempt next.
  const third = stop(3, { state: "attempt_failed", attempts_made: 1, attempt_number: 2, attempts_left: 2 });
  status = stopStatus(third, [entry("g", 3)]);
  assert.deepEqual([status.canRetry, status.attemptsLeft, status.attemptNumber], [true, 1, 3]);
});

test("no try again once the attempts are spent, held, refused, delivered, or unknown", () => {
  const spent = stop(1, { state: "attempt_failed", attempts_made: 2, attempt_number: 3, attempts_left: 0 });
  assert.equal(stopStatus(spent, []).canRetry, false);
  // The last attempt failed just now, waiting to sync: none left.
  const last = stop(2, { attempts_made: 1, attempt_number: 2, attempts_left: 1 });
  assert.deepEqual([stopStatus(last, [entry("f", 2)]).canRetry, stopStatus(last, [entry("f", 2)]).attemptsLeft], [false, 0]);
  // Held at the office (the citizen asked to collect): not tried at home again today.
  const held = stop(3, { state: "held_at_office", attempts_made: 1, attempts_left: 1 });
  assert.equal(stopStatus(held, []).canRetry, false);
  // The retry waits to sync as delivered: nothing more to try.
  const retried = stop(4, { state: "attempt_failed", attempts_made: 1, attempt_number: 2, attempts_left: 1 });
  const status = stopStatus(retried, [entry("d", 4, { outcome: "delivered" })]);
  assert.deepEqual([status.status, status.pending, status.canRetry, status.attemptNumber], ["delivered", true, false, 3]);
  // Refused: the postman decides on the refusal first.
  assert.equal(stopStatus(retried, [entry("r", 4, { state: "rejected" })]).canRetry, false);
  // A run cached by an older app does not say how many are left: not offered.
  assert.equal(stopStatus(stop(5, { state: "attempt_failed", attempts_made: 1 }), []).canRetry, false);
  // An open stop is attempted, not retried.
  assert.equal(stopStatus(stop(6, { attempts_left: 2 }), []).canRetry, false);
});

test("a second attempt delivered on the run: the stop is delivered, counted once, none left", () => {
  const data = run(stop(1, { state: "attempt_failed", attempts_made: 1, attempt_number: 2, attempts_left: 1 }), stop(2));
  assert.deepEqual(progress(data, []), { delivered: 0, failed: 1, left: 1, total: 2 });
  const retry = entry("d", 1, { outcome: "delivered" });
  assert.deepEqual(progress(data, [retry]), { delivered: 1, failed: 0, left: 1, total: 2 });
  applyReceipt(data, retry, { envelope_state: "delivered", attempt_number: 2 });
  const [s] = data.runs[0].stops;
  assert.deepEqual([s.state, s.attempts_made, s.attempt_number, s.attempts_left], ["delivered", 2, 3, 0]);
  assert.deepEqual(progress(data, []), { delivered: 1, failed: 0, left: 1, total: 2 });
  // A first failure acknowledged leaves one of two.
  const first = run(stop(3, { attempts_left: 2 }));
  applyReceipt(first, entry("f", 3), { envelope_state: "attempt_failed", attempt_number: 1 });
  const [f] = first.runs[0].stops;
  assert.deepEqual([f.attempts_left, stopStatus(f, []).canRetry, stopStatus(f, []).attemptNumber], [1, true, 2]);
});

test("what comes next after a failure follows the server's count of attempts left", () => {
  const served = stop(1, { state: "attempt_failed", attempts_made: 1, attempts_left: 2 });
  assert.deepEqual(afterFailure(served, stopStatus(served, []), { max_home_attempts: 2 }), { next: "again", attemptsLeft: 2 });
  const spent = stop(2, { state: "attempt_failed", attempts_made: 2, attempts_left: 0 });
  assert.deepEqual(afterFailure(spent, stopStatus(spent, []), { max_home_attempts: 2 }), { next: "hold", max: 2 });
});
