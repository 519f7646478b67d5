// Building an attempt's `meta` (docs/api-delivery.md) from what was collected at the door.
import { localIsoTime, newUuid } from "./format.js";

/**
 * stop: the stop; scan: {method, payload}; outcome: "delivered"|"failed"; recipient, position,
 * fees, strokes, reason, note as collected. Files are added by the outbox with their hashes.
 */
export function buildMeta({ stop, scan, outcome, recipient = null, position = null, fees = 0,
  strokes = null, reasonCode = null, note = "", now = new Date(), attemptId = newUuid() }) {
  return {
    attempt_id: attemptId,
    stop_id: stop.stop_id,
    envelope_code: stop.envelope_code,
    outcome,
    reason_code: outcome === "failed" ? reasonCode : null,
    note: note ?? "",
    scan: { method: scan.method, payload: scan.method === "qr" ? scan.payload : null },
    recipient: outcome === "delivered" ? recipient : null,
    position,
    device_time: localIsoTime(now),
    fees_collected_vnd: outcome === "delivered" ? Math.max(0, Math.round(Number(fees) || 0)) : 0,
    signature_strokes: outcome === "delivered" ? strokes : null,
  };
}

/** signature_pad's data as strokes of points {x, y, t} (CSS pixels, ms since the epoch). */
export function padToStrokes(data) {
  return data.map((group) =>
    group.points.map((p) => ({ x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10, t: p.time })),
  );
}
