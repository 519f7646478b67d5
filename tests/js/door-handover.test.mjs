// Several envelopes at one door (issue 11): which are offered together, what each one's
// outcome is for the person at the door, and the fees of a dossier collected once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { doorAttempts, doorOf, envelopeOutcome, feesDue, handoverStops, paidDossiers } from "../../pwa/static/js/doors.js";

function stop(id, { door = 1, dossier = `D${id}`, fees = 34000, representative = true, state = "out_for_delivery", last = null, paid = false } = {}) {
  return { stop_id: id, position: id, visit: door, door, envelope_code: `HC${id}`, dossier_code: dossier,
    state, attempts_made: last ? 1 : 0, attempt_number: last ? 2 : 1, attempts_left: 3, last_attempt: last,
    fees_due_vnd: fees, fees_collected_on_dossier: paid, representative_allowed: representative,
    recipient: { name: "Nguyễn Văn An", id_last4: "3456" } };
}

const run = (stops) => ({ runs: [{ id: 1, stops }] });
const entry = (s, outcome, fees, state = "pending") => ({ attempt_id: `a${s.stop_id}`, stop_id: s.stop_id, outcome, state,
  created_at: 1, meta: { fees_collected_vnd: fees, outcome } });

test("the door of a stop: its envelopes in route order; the opened one first among those open", () => {
  const a = stop(1), b = stop(2), c = stop(3), d = stop(4, { door: 4 });
  const data = run([d, c, b, a]);
  assert.deepEqual(doorOf(data, b).stops.map((s) => s.stop_id), [1, 2, 3]);
  assert.deepEqual(handoverStops(data, b, []).map((s) => s.stop_id), [2, 1, 3]);
  // One delivered already (its attempt waiting on the phone), one delivered on the server.
  c.state = "delivered";
  assert.deepEqual(handoverStops(data, b, [entry(a, "delivered", 0)]).map((s) => s.stop_id), [2]);
  assert.deepEqual(handoverStops(data, d, []).map((s) => s.stop_id), [4]);
  // A stop the run no longer holds is handed over alone.
  assert.deepEqual(handoverStops(run([]), a, []).map((s) => s.stop_id), [1]);
});

test("an ID card for its holder only fails for a representative; the holder's other results go", () => {
  const card = stop(1, { representative: false });
  const other = stop(2);
  const rep = { relation: "representative", holderCheck: "read" };
  assert.deepEqual(envelopeOutcome(card, rep), { outcome: "failed", reasonCode: "not_the_recipient", why: "holder_only" });
  assert.deepEqual(envelopeOutcome(other, rep), { outcome: "delivered", reasonCode: null, why: null });
  // Even before the ID is read, a representative cannot take the card.
  assert.equal(envelopeOutcome(card, { relation: "organisation_representative", holderCheck: null }).why, "holder_only");
  assert.equal(envelopeOutcome(other, { relation: "representative", holderCheck: null }).outcome, null);
  assert.equal(envelopeOutcome(card, { relation: "holder", holderCheck: "match" }).outcome, "delivered");
  assert.equal(envelopeOutcome(card, { relation: "holder", holderCheck: "mismatch" }).why, "mismatch");
  assert.equal(envelopeOutcome(card, { relation: "holder", holderCheck: "weak" }).why, "weak");
  assert.equal(envelopeOutcome(card, { relation: "holder", holderCheck: "weak", weakConfirmed: true }).outcome, "delivered");
});

test("a dossier is paid by the server's record or by a delivery waiting on the phone", () => {
  const a = stop(1, { dossier: "X" }), b = stop(2, { dossier: "X" }), c = stop(3, { dossier: "Y", paid: true });
  const e = stop(4, { dossier: "Z", state: "delivered", last: { outcome: "delivered", fees_collected_vnd: 34000 } });
  const data = run([a, b, c, e]);
  assert.deepEqual([...paidDossiers(data, [])].sort(), ["Y", "Z"]);
  assert.deepEqual([...paidDossiers(data, [entry(a, "delivered", 34000)])].sort(), ["X", "Y", "Z"]);
  // A failure, a delivery that collected nothing, or a refused attempt pays nothing.
  assert.deepEqual([...paidDossiers(data, [entry(a, "failed", 0), entry(b, "delivered", 0), entry(a, "delivered", 34000, "rejected")])].sort(), ["Y", "Z"]);
  assert.equal(feesDue(b, paidDossiers(data, [entry(a, "delivered", 34000)])), 0);
  assert.equal(feesDue(b, new Set()), 34000);
});

test("one hand-over: an attempt per envelope, the fees once per dossier, the same files", () => {
  const signature = { field: "signature", sha256: "s" };
  const photo = { field: "photo", sha256: "p" };
  const auth = { field: "authorization", sha256: "a" };
  const shared = { recipient: { name: "B" }, note: "n", strokes: [[1]], position: null, signature, photos: [photo], authorization: [auth] };
  const card = stop(1, { dossier: "C", fees: 20000 });
  const x1 = stop(2, { dossier: "X" }), x2 = stop(3, { dossier: "X" }), y = stop(4, { dossier: "Y", fees: 10000 });
  const scan = { method: "typed", payload: null };
  const envelopes = [
    { stop: card, scan, outcome: "failed", reasonCode: "not_the_recipient" },
    { stop: x1, scan, outcome: "delivered" },
    { stop: x2, scan, outcome: "delivered" },
    { stop: y, scan, outcome: "delivered" },
  ];
  const { attempts, total } = doorAttempts(envelopes, new Set(["Y"]), shared);
  // Delivered first (the paying one of each dossier before the others), then the failures.
  assert.deepEqual(attempts.map((a) => [a.stop.stop_id, a.outcome, a.fees]), [[2, "delivered", 34000], [3, "delivered", 0], [4, "delivered", 0], [1, "failed", 0]]);
  assert.equal(total, 34000); // the card's fees are not collected: it is not handed over
  const [first, second, , failed] = attempts;
  assert.deepEqual(first.files, [signature, photo, auth]);
  assert.equal(first.files[0], second.files[0]); // the same object: hashed once, one Blob
  assert.deepEqual(failed.files, [photo, auth]); // no signature given for the others
  assert.equal(failed.reasonCode, "not_the_recipient");
  assert.equal(failed.recipient, null);
  assert.equal(failed.strokes, null);
  assert.equal(first.recipient, shared.recipient);
  assert.equal(second.scan, scan);
});
