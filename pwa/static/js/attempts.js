// Building an attempt's `meta` (docs/api-delivery.md) from what was collected at the door.
import { localIsoTime, newUuid } from "./format.js";
import { compareNames, identityMatch } from "./cccd.js";

/** The identity papers a recipient may show (backend/domain/idnum.py DOCUMENT_TYPES). */
export const DOCUMENT_TYPES = ["cccd", "passport", "other"];

const DOCUMENT_NUMBER = {
  cccd: /^[0-9]{12}$/,
  passport: /^[A-Z][0-9]{7}$/, // a Vietnamese passport: one letter and 7 digits, e.g. C1234567
  other: /^[A-Z0-9]{5,20}$/,
};

/** The paper's number normalised (no spaces; upper case but for a CCCD), or null if malformed. */
export function normaliseDocumentNumber(type, number) {
  const compact = String(number ?? "").replace(/\s+/g, "");
  const normalised = type === "cccd" ? compact : compact.toUpperCase();
  return DOCUMENT_NUMBER[type]?.test(normalised) ? normalised : null;
}

/**
 * How a typed identity compares to the stop's recipient: "match" | "weak" | "mismatch".
 * A passport's or other paper's number can't be compared with the CCCD's last four, so such a
 * paper is at best "weak", on the name alone (the server's check_identity does the same).
 */
export function documentMatch(recipient, type, name, number) {
  if (type === "cccd") return identityMatch(recipient, name, number);
  return compareNames(recipient?.name, name) === "mismatch" ? "mismatch" : "weak";
}

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
