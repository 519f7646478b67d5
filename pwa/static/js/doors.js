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

// --- Several envelopes at one door, handed over at once (issue 11) ----------------------------

/** The door of `stop` on its run: {key, stops} (the stop alone when the run does not hold it). */
export function doorOf(runData, stop) {
  const key = doorKey(stop);
  for (const run of runData?.runs ?? []) {
    if (!run.stops?.some((s) => s.stop_id === stop.stop_id)) continue;
    const door = runDoors(run).find((d) => d.key === key);
    if (door) return door;
  }
  return { key, stops: [stop] };
}

/**
 * The envelopes the postman may hand over now at the door of `stop`: `stop` first (opened and
 * identified, perhaps tried again), then the door's others still open, in route order. An
 * envelope delivered, failed or waiting in the outbox is not offered again.
 */
export function handoverStops(runData, stop, entries) {
  const others = doorOf(runData, stop).stops
    .filter((s) => s.stop_id !== stop.stop_id && stopStatus(s, entries).canAttempt);
  return [stop, ...others];
}

/**
 * The dossiers (codes) whose fees were collected already: by the server's record (the run says
 * so, or an envelope's last attempt delivered with fees) or by an attempt waiting on the phone.
 * A dossier's fees are collected once, whichever of its envelopes is delivered first.
 */
export function paidDossiers(runData, entries = []) {
  const paid = new Set();
  const dossierOf = new Map();
  for (const run of runData?.runs ?? []) {
    for (const stop of run.stops ?? []) {
      dossierOf.set(stop.stop_id, stop.dossier_code);
      const last = stop.last_attempt;
      if (stop.fees_collected_on_dossier || (last?.outcome === "delivered" && last.fees_collected_vnd > 0)) {
        paid.add(stop.dossier_code);
      }
    }
  }
  for (const entry of entries) {
    if (entry.state !== "pending" || entry.outcome !== "delivered" || !(entry.meta?.fees_collected_vnd > 0)) continue;
    if (dossierOf.has(entry.stop_id)) paid.add(dossierOf.get(entry.stop_id));
  }
  return paid;
}

/** What delivering this envelope collects: its dossier's fees, unless collected already. */
export function feesDue(stop, paid) {
  return stop.dossier_code != null && paid.has(stop.dossier_code) ? 0 : stop.fees_due_vnd ?? 0;
}

/**
 * What happens to one envelope of the door for the person there: relation "holder" |
 * "representative" | "organisation_representative", holderCheck this envelope's holder check
 * ("match" | "weak" | "mismatch" | "read", or null while incomplete), weakConfirmed the postman's
 * confirmation of a weak match. A result for its holder only (ID card, passport) handed to
 * someone else, or a holder who does not match, cannot be delivered: the envelope fails, as
 * "not the recipient", while the others are delivered.
 * → {outcome: "delivered" | "failed" | null, reasonCode, why: null | "holder_only" | "mismatch" | "weak"}
 */
export function envelopeOutcome(stop, { relation, holderCheck, weakConfirmed = false }) {
  const failed = (why) => ({ outcome: "failed", reasonCode: "not_the_recipient", why });
  if (relation !== "holder" && !stop.representative_allowed) return failed("holder_only");
  if (!holderCheck) return { outcome: null, reasonCode: null, why: null };
  if (holderCheck === "mismatch") return failed("mismatch");
  if (holderCheck === "weak" && !weakConfirmed) return failed("weak");
  return { outcome: "delivered", reasonCode: null, why: null };
}

/**
 * The attempts of one hand-over at the door: one per envelope, each with its own outcome, all
 * pointing at the same files (the same Blob objects: hashed once, stored once on the server).
 * envelopes: [{stop, scan, outcome, reasonCode}]; paid: paidDossiers(); shared: what the door
 * collected once: {recipient, note, strokes, position, signature, photos, authorization} (files
 * as {field, blob, sha256, filename}). A delivered envelope carries the signature, the photos
 * and any authorisation; a failed one the photos and the authorisation (what was shown), never
 * a signature given for the others. The first envelope delivered of each dossier collects the
 * dossier's fees, the others 0; those attempts come first, so the server (which refuses a
 * second collection, and an envelope of an unpaid dossier that collects nothing) receives the
 * paying one before the others of its dossier.
 * → {attempts: [{stop, scan, outcome, reasonCode, recipient, note, strokes, position, fees, files}], total}
 */
export function doorAttempts(envelopes, paid, shared) {
  const collected = new Set(paid);
  const attempts = [];
  let total = 0;
  const ordered = [...envelopes.filter((e) => e.outcome === "delivered"), ...envelopes.filter((e) => e.outcome === "failed")];
  for (const { stop, scan, outcome, reasonCode } of ordered) {
    const delivered = outcome === "delivered";
    let fees = 0;
    if (delivered) {
      fees = feesDue(stop, collected);
      if (stop.dossier_code != null) collected.add(stop.dossier_code);
      total += fees;
    }
    const files = [
      ...(delivered && shared.signature ? [shared.signature] : []),
      ...(shared.photos ?? []),
      ...(shared.authorization ?? []),
    ];
    attempts.push({
      stop, scan, outcome,
      reasonCode: delivered ? null : reasonCode,
      recipient: delivered ? shared.recipient : null,
      note: shared.note ?? "",
      strokes: delivered ? shared.strokes : null,
      position: shared.position ?? null,
      fees,
      files,
    });
  }
  return { attempts, total };
}
