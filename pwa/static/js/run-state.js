// The run as the postman sees it: the server's states overlaid with the attempts in the outbox.

const DELIVERED = new Set(["delivered", "collected"]);
const FAILED = new Set(["attempt_failed", "held_at_office", "returned_to_agency"]);

/** Every stop of every run, in order. */
export function allStops(runData) {
  return (runData?.runs ?? []).flatMap((run) => [...run.stops].sort((a, b) => a.position - b.position));
}

/**
 * A stop's status: {status: "open"|"delivered"|"failed", pending: bool, rejected: entry|null,
 * attemptNumber}. The latest attempt not rejected in the outbox wins over the server's state.
 */
export function stopStatus(stop, entries) {
  const mine = entries.filter((e) => e.stop_id === stop.stop_id);
  const pending = mine.filter((e) => e.state !== "rejected");
  const rejected = mine.filter((e) => e.state === "rejected").at(-1) ?? null;
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
