// Building an attempt's `meta` (docs/api-delivery.md) from what was collected at the door.
import { localIsoTime, newUuid } from "./format.js";
import { compareNames, holderCheck } from "./cccd.js";

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
 * The holder's identity by the server's rule (backend/domain/identity.py `check_holder`), the
 * same whatever the method: {outcome: "match" | "weak" | "mismatch", nameMatch, numberMatch}.
 * A CCCD scanned or typed gives the whole number, VNeID's screen the last four digits the postman
 * types; both are compared with the recipient's (see cccd.js holderCheck). A passport's or other
 * paper's number can't be compared with the CCCD's last four: such a paper is at best "weak", on
 * the name alone, and its numberMatch is null.
 */
export function checkHolder(recipient, { method, documentType = "cccd", name, idNumber = null, idLast4 = null }) {
  if (method === "vneid_shown") return holderCheck(recipient, name, String(idLast4 ?? "").replace(/\s+/g, ""));
  if (documentType !== "cccd") {
    const nameMatch = compareNames(recipient?.name, name);
    return { outcome: nameMatch === "mismatch" ? "mismatch" : "weak", nameMatch, numberMatch: null };
  }
  return holderCheck(recipient, name, String(idNumber ?? "").replace(/\s+/g, "").slice(-4));
}

/** How a typed (or scanned) identity compares to the stop's recipient: "match" | "weak" | "mismatch". */
export function documentMatch(recipient, type, name, number) {
  return checkHolder(recipient, { method: "typed", documentType: type, name, idNumber: number }).outcome;
}

/**
 * The recipient as the API takes it: VNeID gives the last four digits and never a whole number,
 * the other methods the whole number and no `id_last4`; `weak_match_confirmed` always a boolean.
 */
function recipientMeta(recipient) {
  if (!recipient) return null;
  const vneid = recipient.id_check_method === "vneid_shown";
  return {
    ...recipient,
    id_number: vneid ? null : recipient.id_number ?? null,
    id_last4: vneid ? recipient.id_last4 ?? null : null,
    weak_match_confirmed: recipient.weak_match_confirmed === true,
  };
}

/**
 * stop: the stop; scan: {method, payload}; outcome: "delivered"|"failed"; attemptNumber: the
 * attempt's number as the phone counts it (run-state.js stopStatus().attemptNumber: the stop's
 * plus those waiting in the outbox), which the server requires to be the envelope's next;
 * recipient, position, fees, strokes, reason, note as collected. Files are added by the outbox
 * with their hashes.
 */
export function buildMeta({ stop, scan, outcome, attemptNumber, recipient = null, position = null, fees = 0,
  strokes = null, reasonCode = null, note = "", now = new Date(), attemptId = newUuid() }) {
  if (!Number.isInteger(attemptNumber) || attemptNumber < 1) {
    throw new TypeError(`an attempt needs its number, got ${attemptNumber}`);
  }
  return {
    attempt_id: attemptId,
    stop_id: stop.stop_id,
    envelope_code: stop.envelope_code,
    attempt_number: attemptNumber,
    outcome,
    reason_code: outcome === "failed" ? reasonCode : null,
    note: note ?? "",
    scan: { method: scan.method, payload: scan.method === "qr" ? scan.payload : null },
    recipient: outcome === "delivered" ? recipientMeta(recipient) : null,
    position,
    device_time: localIsoTime(now),
    fees_collected_vnd: outcome === "delivered" ? Math.max(0, Math.round(Number(fees) || 0)) : 0,
    signature_strokes: outcome === "delivered" ? strokes : null,
  };
}

// The server refuses a signature PNG with a side over TRAO_SIGNATURE_MAX_SIDE (2400 px by
// default): the canvas is never made larger. Past 3 device pixels per CSS pixel a signature
// gains nothing but bytes (phones reach 4, and more under the browser's zoom).
export const SIGNATURE_MAX_SIDE = 2400;
export const SIGNATURE_MAX_RATIO = 3;

/**
 * Device pixels per CSS pixel for a signature canvas of cssWidth × cssHeight: the screen's
 * devicePixelRatio (at least 1, so it stays sharp), at most SIGNATURE_MAX_RATIO, and small
 * enough that neither side exceeds SIGNATURE_MAX_SIDE.
 */
export function signatureRatio(devicePixelRatio, cssWidth, cssHeight) {
  const wanted = Math.max(Number(devicePixelRatio) || 1, 1);
  const caps = [SIGNATURE_MAX_RATIO];
  if (cssWidth > 0) caps.push(SIGNATURE_MAX_SIDE / cssWidth);
  if (cssHeight > 0) caps.push(SIGNATURE_MAX_SIDE / cssHeight);
  return Math.min(wanted, ...caps);
}

/** The canvas's size in device pixels for that ratio: never a side over SIGNATURE_MAX_SIDE. */
export function signatureCanvasSize(devicePixelRatio, cssWidth, cssHeight) {
  const ratio = signatureRatio(devicePixelRatio, cssWidth, cssHeight);
  const side = (css) => Math.min(SIGNATURE_MAX_SIDE, Math.max(1, Math.floor(css * ratio)));
  return { ratio, width: side(cssWidth), height: side(cssHeight) };
}

/**
 * signature_pad's data as strokes of points [x, y, t] (CSS pixels to 0.1, ms since the epoch):
 * the compact form the server checks in one pass (it still takes {x, y, t} from older entries).
 */
export function padToStrokes(data) {
  return data.map((group) =>
    group.points.map((p) => [Math.round(p.x * 10) / 10, Math.round(p.y * 10) / 10, p.time]),
  );
}
