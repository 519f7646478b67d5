// The run as the postman sees it: the server's states overlaid with the attempts in the outbox.

const DELIVERED = new Set(["delivered", "collected"]);
const FAILED = new Set(["attempt_failed", "held_at_office", "returned_to_agency"]);

/** Every stop of every run, in order. */
export function allStops(runData) {
  return (runData?.runs ?? []).flatMap((run) => [...run.stops].sort((a, b) => a.position - b.position));
}

/** When an entry was refused (ms): recorded by the outbox; older entries fall back to their creation. */
function rejectedAt(entry) {
  return entry.rejected_at ?? entry.created_at ?? 0;
}

/**
 * Whether a rejected entry is superseded: the stop's last acknowledged attempt (the server's
 * `last_attempt`, or the receipt applied by applyReceipt) is another attempt, made after this one
 * was refused. The entry stays stored; it is only no longer shown or counted.
 */
export function isSuperseded(entry, stop) {
  const last = stop?.last_attempt;
  if (!last?.at || last.attempt_id === entry.attempt_id) return false;
  const at = Date.parse(last.at);
  return Number.isFinite(at) && at > rejectedAt(entry);
}

/**
 * A stop's status: {status: "open"|"delivered"|"failed", pending: bool, rejected: entry|null,
 * attemptNumber}. The latest pending attempt in the outbox wins over the server's state; rejected
 * attempts don't count, dismissed ones are ignored, and a rejected one is no longer shown once a
 * later attempt for the stop has been acknowledged.
 */
export function stopStatus(stop, entries) {
  const mine = entries.filter((e) => e.stop_id === stop.stop_id);
  const pending = mine.filter((e) => e.state === "pending");
  const rejected = mine.filter((e) => e.state === "rejected" && !isSuperseded(e, stop)).at(-1) ?? null;
  let status = DELIVERED.has(stop.state) ? "delivered" : FAILED.has(stop.state) ? "failed" : "open";
  const last = pending.at(-1);
  if (last) status = last.outcome === "delivered" ? "delivered" : "failed";
  return {
    status,
    pending: pending.length > 0,
    rejected,
    attemptNumber: (stop.attempt_number ?? (stop.attempts_made ?? 0) + 1) + pending.length,
  };
}

/**
 * The rejected entries still to show: those not superseded on their stop (entries of stops not in
 * the run are kept: nothing supersedes them).
 */
export function shownRejected(runData, entries) {
  const stops = new Map(allStops(runData).map((s) => [s.stop_id, s]));
  return entries.filter((e) => e.state === "rejected" && !isSuperseded(e, stops.get(e.stop_id)));
}

/** Delivered / failed / left over all runs, counting attempts waiting in the outbox. */
export function progress(runData, entries) {
  const counts = { delivered: 0, failed: 0, left: 0, total: 0 };
  for (const stop of allStops(runData)) {
    const { status } = stopStatus(stop, entries);
    counts.total += 1;
    if (status === "delivered") counts.delivered += 1;
    else if (status === "failed") counts.failed += 1;
    else counts.left += 1;
  }
  return counts;
}

/** Update the cached run with the server's receipt of an attempt. */
export function applyReceipt(runData, entry, receipt) {
  for (const stop of allStops(runData)) {
    if (stop.stop_id !== entry.stop_id) continue;
    stop.state = receipt?.envelope_state ?? (entry.outcome === "delivered" ? "delivered" : "attempt_failed");
    if (receipt?.attempt_number) {
      stop.attempts_made = receipt.attempt_number;
      stop.attempt_number = receipt.attempt_number + 1;
    }
    stop.last_attempt = {
      attempt_id: entry.attempt_id,
      outcome: entry.outcome,
      reason_code: entry.meta.reason_code ?? null,
      at: entry.meta.device_time,
    };
  }
  return runData;
}
