// Envelope codes (UPU S10) and the envelope's signed QR, mirroring backend/domain/codes.py
// and envelope_qr.py: what the phone can check offline.
import { sha256Hex } from "./format.js";

export const S10_WEIGHTS = [8, 6, 4, 2, 3, 5, 9, 7];
export const QR_PREFIX = "TR1";
const MAC_SHAPE = /^[A-Z2-7]{16}$/;

/** The S10 check digit of an eight-digit serial. */
export function s10CheckDigit(digits) {
  if (!/^[0-9]{8}$/.test(digits)) throw new Error("the serial must be 8 digits");
  const total = [...digits].reduce((sum, d, i) => sum + Number(d) * S10_WEIGHTS[i], 0);
  const check = 11 - (total % 11);
  return check === 10 ? 0 : check === 11 ? 5 : check;
}

/** The code upper-cased without spaces, or null when it is not a valid S10 code. */
export function normaliseEnvelopeCode(text) {
  const code = String(text ?? "").replace(/\s+/g, "").toUpperCase();
  const m = /^([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})$/.exec(code);
  if (!m) return null;
  return s10CheckDigit(m[2]) === Number(m[3]) ? code : null;
}

/** What a scanned text is: an envelope QR {kind:"envelope", code}, an ID card, or other. */
export function classifyScan(text) {
  const t = String(text ?? "").trim();
  const parts = t.split(":");
  if (parts[0] === QR_PREFIX) {
    if (parts.length === 3 && normaliseEnvelopeCode(parts[1]) === parts[1] && MAC_SHAPE.test(parts[2])) {
      return { kind: "envelope", code: parts[1], payload: t };
    }
    return { kind: "damaged", payload: t };
  }
  if (t.split("|").length >= 6 && /^[0-9]{12}\|/.test(t)) return { kind: "id_card" };
  return { kind: "other" };
}

/**
 * Match a scanned text against the run's stops by the SHA-256 of the payload (`qr_digest`).
 * Result: {result: "match", stop, payload} | {result: "forged", stop} | {result: "not_on_run"}
 * | {result: "id_card"} | {result: "not_envelope"}.
 */
export async function matchEnvelopeScan(text, stops) {
  const scan = classifyScan(text);
  if (scan.kind === "id_card") return { result: "id_card" };
  if (scan.kind === "other") return { result: "not_envelope" };
  if (scan.kind === "damaged") return { result: "forged", stop: null };
  const digest = await sha256Hex(scan.payload);
  const byDigest = stops.find((s) => s.qr_digest === digest);
  if (byDigest) return { result: "match", stop: byDigest, payload: scan.payload };
  const byCode = stops.find((s) => s.envelope_code === scan.code);
  if (byCode) return { result: "forged", stop: byCode };
  return { result: "not_on_run", code: scan.code };
}
