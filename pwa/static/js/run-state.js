// The run as the postman sees it: the server's states overlaid with the attempts in the outbox.

const DELIVERED = new Set(["delivered", "collected"]);
const FAILED = new Set(["attempt_failed", "held_at_office", "returned_to_agency"]);
// Where the envelope may be tried again on the run after a failure: failed on the server, or
// still out for delivery with the failure waiting in the outbox (not yet held or returned).
const TRIED_AGAIN_FROM = new Set(["attempt_failed", "out_for_delivery"]);

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

/** The stop's status as the server last told it: "open" | "delivered" | "failed". */
function serverStatus(stop) {
  return DELIVERED.has(stop.state) ? "delivered" : FAILED.has(stop.state) ? "failed" : "open";
}

/**
 * A stop's status, as the postman must see it:
 * - status: "open" | "refused" | "delivered" | "failed". The stop's latest attempt in the outbox
 *   decides: a pending one shows its outcome, a refused one (still shown) shows "refused" until the
 *   postman sends it again or dismisses it; otherwise the server's state. Dismissed attempts are
 *   ignored, and a refused one is no longer shown once a later attempt was acknowledged.
 * - pending: an attempt waits to sync; rejected: the refused entry to show, or null.
 * - finished: delivered or failed (waiting to sync or not): nothing is left to do at the door.
 * - canAttempt: the server still has the envelope out for delivery and nothing waits to sync.
 * - attemptsMade (counting those waiting to sync), attemptNumber (the next attempt's).
 * - attemptsLeft: home attempts the policy still allows (the server's `attempts_left` minus
 *   those waiting to sync), or null when the run does not say (a run cached by an older app).
 * - canRetry: the latest attempt failed and attempts are left: the envelope may be tried again
 *   on this run ("Phát lại": the citizen called back or came home), as the attemptNumber-th.
 * - collectedVnd: for a delivered stop, what was collected: the attempt's amount when the phone
 *   knows it, else the fees due.
 * - reasonCode: for a failed stop, the latest failure's reason when known.
 */
export function stopStatus(stop, entries) {
  const mine = entries.filter((e) => e.stop_id === stop.stop_id);
  const pending = mine.filter((e) => e.state === "pending");
  const rejected = mine.filter((e) => e.state === "rejected" && !isSuperseded(e, stop)).at(-1) ?? null;
  const server = serverStatus(stop);
  const lastPending = pending.at(-1) ?? null;
  const latest = [lastPending, rejected].filter(Boolean).sort((a, b) => a.created_at - b.created_at).at(-1);
  const status = !latest ? server
    : latest === rejected ? "refused"
    : latest.outcome === "delivered" ? "delivered" : "failed";
  const attemptsMade = (stop.attempts_made ?? 0) + pending.length;
  const attemptsLeft = stop.attempts_left == null ? null : Math.max(0, stop.attempts_left - pending.length);
  const last = lastPending ? { ...lastPending.meta, outcome: lastPending.outcome } : stop.last_attempt ?? null;
  return {
    status,
    pending: pending.length > 0,
    rejected,
    finished: status === "delivered" || status === "failed",
    canAttempt: server === "open" && !lastPending,
    attemptsMade,
    attemptsLeft,
    canRetry: status === "failed" && attemptsLeft > 0 && TRIED_AGAIN_FROM.has(stop.state),
    attemptNumber: (stop.attempt_number ?? (stop.attempts_made ?? 0) + 1) + pending.length,
    collectedVnd: status === "delivered"
      ? (last?.outcome === "delivered" ? last.fees_collected_vnd : null) ?? stop.fees_due_vnd ?? 0
      : null,
    reasonCode: status === "failed" && last?.outcome === "failed" ? last.reason_code ?? null : null,
  };
}

/**
 * What happens next to a failed stop's envelope under the policy: {next: "again", attemptsLeft}
 * while home attempts remain, {next: "hold", max} when none do, "held" / "returned" once the
 * office has it; null for a stop that has not failed.
 */
export function afterFailure(stop, status, settings) {
  if (status.status !== "failed") return null;
  if (!status.pending && stop.state === "held_at_office") return { next: "held" };
  if (!status.pending && stop.state === "returned_to_agency") return { next: "returned" };
  const max = settings?.max_home_attempts;
  if (!max && status.attemptsLeft == null) return { next: "again", attemptsLeft: null };
  // The server's count when the run carries it (it knows the policy), else the run's settings.
  const attemptsLeft = status.attemptsLeft ?? Math.max(0, max - status.attemptsMade);
  return attemptsLeft > 0 ? { next: "again", attemptsLeft } : { next: "hold", max: max ?? status.attemptsMade };
}

/**
 * The run's stops for the list, each with its status, in route order: those left to do (open,
 * or refused and waiting for the postman's decision) and those finished (delivered or failed,
 * including attempts still waiting to sync). `elsewhere`: refused attempts for stops no longer
 * on the run (taken off it, or another day's), which still wait for a decision.
 */
export function groupStops(runData, entries) {
  const groups = { left: [], finished: [], elsewhere: [] };
  const ids = new Set();
  for (const stop of allStops(runData)) {
    ids.add(stop.stop_id);
    const status = stopStatus(stop, entries);
    groups[status.finished ? "finished" : "left"].push({ stop, status });
  }
  groups.elsewhere = entries.filter((e) => e.state === "rejected" && !ids.has(e.stop_id));
  return groups;
}

/**
 * The rejected entries still to show: those not superseded on their stop (entries of stops not in
 * the run are kept: nothing supersedes them).
 */
export function shownRejected(runData, entries) {
  const stops = new Map(allStops(runData).map((s) => [s.stop_id, s]));
  return entries.filter((e) => e.state === "rejected" && !isSuperseded(e, stops.get(e.stop_id)));
}

/** Delivered / failed / left (open or refused) over all runs, counting attempts in the outbox. */
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
      if (stop.attempts_left != null) {
        // The policy's maximum is what was made plus what was left.
        const max = (stop.attempts_made ?? 0) + stop.attempts_left;
        stop.attempts_left = Math.max(0, max - receipt.attempt_number);
      }
      stop.attempts_made = receipt.attempt_number;
      stop.attempt_number = receipt.attempt_number + 1;
    }
    stop.last_attempt = {
      attempt_id: entry.attempt_id,
      outcome: entry.outcome,
      reason_code: entry.meta.reason_code ?? null,
      fees_collected_vnd: entry.meta.fees_collected_vnd ?? null,
      at: entry.meta.device_time,
    };
  }
  return runData;
}
