// A run's doors: the envelopes for one recipient at one address, handed over in one visit.
// The server names each stop's door (`door`: its first stop's id, which stays while the order
// changes); the postman moves whole doors up and down the run, and the run keeps that order.
import { stopStatus } from "./run-state.js";

/** The door a stop belongs to; a run cached by an older app has only visits, or neither. */
export function doorKey(stop) {
  if (stop.door != null) return String(stop.door);
  return stop.visit != null ? `v${stop.visit}` : `s${stop.stop_id}`;
}

/** The run's doors in route order: [{key, stops}], the stops in their order. */
export function runDoors(run) {
  const doors = new Map();
  for (const stop of [...(run?.stops ?? [])].sort((a, b) => a.position - b.position)) {
    const key = doorKey(stop);
    if (!doors.has(key)) doors.set(key, { key, stops: [] });
    doors.get(key).stops.push(stop);
  }
  return [...doors.values()];
}

/** The run's stop ids in route order: what the server is sent as the run's order. */
export function stopOrder(run) {
  return runDoors(run).flatMap((door) => door.stops.map((stop) => stop.stop_id));
}

/**
 * The run's order (stop ids) after moving the door `key` one place earlier (step -1) or later
 * (+1) among the doors in `shown` (the keys the postman sees in that list; all when null): it
 * goes just before, or just after, its neighbour there. Null when there is nowhere to go.
 */
export function moveDoor(run, key, step, shown = null) {
  const doors = runDoors(run);
  const from = doors.findIndex((door) => door.key === key);
  if (from < 0 || (step !== -1 && step !== 1)) return null;
  let to = from + step;
  while (to >= 0 && to < doors.length && shown && !shown.has(doors[to].key)) to += step;
  if (to < 0 || to >= doors.length) return null;
  const [door] = doors.splice(from, 1);
  doors.splice(to, 0, door);
  return doors.flatMap((d) => d.stops.map((stop) => stop.stop_id));
}

/**
 * Put the run's stops in `order` (stop ids): positions and visits numbered again from 1, the
 * run's `doors` as the server would give them. False, and the run left as it was, when the
 * order does not fit the run: other stops, one named twice, or a door's envelopes apart.
 */
export function applyOrder(run, order) {
  if (!run || !Array.isArray(order)) return false;
  const doors = runDoors(run);
  const doorOf = new Map();
  for (const door of doors) for (const stop of door.stops) doorOf.set(stop.stop_id, door);
  if (order.length !== doorOf.size || new Set(order).size !== order.length) return false;
  if (!order.every((id) => doorOf.has(id))) return false;
  const sequence = [];
  for (const id of order) if (sequence.at(-1) !== doorOf.get(id)) sequence.push(doorOf.get(id));
  const flat = sequence.flatMap((door) => door.stops.map((stop) => stop.stop_id));
  if (sequence.length !== doors.length || flat.some((id, i) => id !== order[i])) return false;
  let position = 0;
  sequence.forEach((door, i) => {
    for (const stop of door.stops) {
      position += 1;
      stop.position = position;
      stop.visit = i + 1;
    }
  });
  run.stops.sort((a, b) => a.position - b.position);
  run.doors = sequence.map((door) => door.stops.map((stop) => stop.stop_id));
  return true;
}

/** Whether two orders (stop ids) are the same. */
export function sameOrder(a, b) {
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((id, i) => id === b[i]);
}

/**
 * The doors of every run for the list, in route order, each with its envelopes' statuses:
 * `left`, the doors with an envelope still to hand over (all their envelopes shown together),
 * and `finished`, those whose every envelope is delivered or failed. `number` is the door's
 * place in its run. `elsewhere`: refused attempts for stops no longer on any run.
 */
export function groupDoors(runData, entries) {
  const groups = { left: [], finished: [], elsewhere: [] };
  const ids = new Set();
  for (const run of runData?.runs ?? []) {
    runDoors(run).forEach((door, i) => {
      const items = door.stops.map((stop) => {
        ids.add(stop.stop_id);
        return { stop, status: stopStatus(stop, entries) };
      });
      const finished = items.every((item) => item.status.finished);
      groups[finished ? "finished" : "left"].push({ runId: run.id, key: door.key, number: i + 1, items, finished });
    });
  }
  groups.elsewhere = entries.filter((e) => e.state === "rejected" && !ids.has(e.stop_id));
  return groups;
}
