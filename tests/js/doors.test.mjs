// A run's doors on the phone: grouped, moved by hand, an order laid over the run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyOrder, doorKey, groupDoors, moveDoor, runDoors, sameOrder, stopOrder } from "../../pwa/static/js/doors.js";

/** A run as runs/today serves it: doors of the given sizes, stop ids from 11, door = first stop. */
function run(sizes, { id = 1, states = {} } = {}) {
  const stops = [];
  let position = 0;
  sizes.forEach((size, i) => {
    const door = 11 + position;
    for (let k = 0; k < size; k += 1) {
      position += 1;
      const stopId = 10 + position;
      stops.push({ stop_id: stopId, position, visit: i + 1, door, envelope_code: `HC${stopId}`,
        state: states[stopId] ?? "out_for_delivery", attempts_made: 0, attempt_number: 1, last_attempt: null,
        recipient: { name: `R${i + 1}` } });
    }
  });
  return { id, stops: stops.reverse(), doors: [] }; // the list's own order is not the route's
}

test("stops of one door come together, doors in route order", () => {
  const r = run([2, 1, 3]);
  assert.deepEqual(runDoors(r).map((d) => [d.key, d.stops.map((s) => s.stop_id)]),
    [["11", [11, 12]], ["13", [13]], ["14", [14, 15, 16]]]);
  assert.deepEqual(stopOrder(r), [11, 12, 13, 14, 15, 16]);
});

test("a run cached by an older app groups by visit, or each stop alone", () => {
  assert.equal(doorKey({ stop_id: 5, visit: 2 }), "v2");
  assert.equal(doorKey({ stop_id: 5 }), "s5");
  assert.equal(doorKey({ stop_id: 5, visit: 2, door: 4 }), "4");
});

test("moving a door takes its envelopes with it, and goes nowhere past the ends", () => {
  const r = run([2, 1, 3]);
  assert.deepEqual(moveDoor(r, "13", -1), [13, 11, 12, 14, 15, 16]);
  assert.deepEqual(moveDoor(r, "11", 1), [13, 11, 12, 14, 15, 16]);
  assert.deepEqual(moveDoor(r, "14", -1), [11, 12, 14, 15, 16, 13]);
  assert.equal(moveDoor(r, "11", -1), null);
  assert.equal(moveDoor(r, "14", 1), null);
  assert.equal(moveDoor(r, "99", 1), null);
  assert.equal(moveDoor(r, "11", 2), null);
});

test("a door moves past the finished doors the postman does not see", () => {
  const r = run([1, 1, 1, 1]); // doors 11 12 13 14; 12 finished, folded away
  const shown = new Set(["11", "13", "14"]);
  assert.deepEqual(moveDoor(r, "13", -1, shown), [13, 11, 12, 14]);
  assert.deepEqual(moveDoor(r, "11", 1, shown), [12, 13, 11, 14]);
});

test("an order is laid over the run: positions, visits and doors numbered again", () => {
  const r = run([2, 1, 3]);
  assert.equal(applyOrder(r, [14, 15, 16, 11, 12, 13]), true);
  assert.deepEqual(r.stops.map((s) => [s.stop_id, s.position, s.visit]),
    [[14, 1, 1], [15, 2, 1], [16, 3, 1], [11, 4, 2], [12, 5, 2], [13, 6, 3]]);
  assert.deepEqual(r.doors, [[14, 15, 16], [11, 12], [13]]);
  assert.deepEqual(runDoors(r).map((d) => d.key), ["14", "11", "13"]); // the keys stay
  assert.equal(applyOrder(r, [14, 15, 16, 11, 12, 13]), true); // again: the same
  assert.deepEqual(stopOrder(r), [14, 15, 16, 11, 12, 13]);
});

test("an order that does not fit the run leaves it as it was", () => {
  for (const order of [
    [11, 12, 13, 14, 15], // one missing
    [11, 12, 13, 14, 15, 16, 17], // one more
    [11, 11, 13, 14, 15, 16], // twice
    [11, 13, 12, 14, 15, 16], // a door apart
    [12, 11, 13, 14, 15, 16], // a door inside out
    null,
  ]) {
    const r = run([2, 1, 3]);
    const before = JSON.stringify(r);
    assert.equal(applyOrder(r, order), false, String(order));
    assert.equal(JSON.stringify(r), before);
  }
  assert.equal(applyOrder(undefined, [1]), false);
});

test("groupDoors: a door is left while any envelope is, finished when all are", () => {
  const r = run([2, 1, 1], { states: { 11: "delivered", 13: "delivered" } });
  const { left, finished, elsewhere } = groupDoors({ runs: [r] }, []);
  assert.deepEqual(left.map((d) => [d.key, d.number, d.items.map((i) => i.status.status)]),
    [["11", 1, ["delivered", "open"]], ["14", 3, ["open"]]]);
  assert.deepEqual(finished.map((d) => [d.key, d.number]), [["13", 2]]);
  assert.deepEqual(elsewhere, []);
  const rejected = { attempt_id: "a", stop_id: 99, state: "rejected", outcome: "failed", meta: {}, created_at: 0 };
  assert.deepEqual(groupDoors({ runs: [r] }, [rejected]).elsewhere, [rejected]);
});

test("sameOrder", () => {
  assert.equal(sameOrder([1, 2], [1, 2]), true);
  assert.equal(sameOrder([1, 2], [2, 1]), false);
  assert.equal(sameOrder(undefined, [1]), false);
});
