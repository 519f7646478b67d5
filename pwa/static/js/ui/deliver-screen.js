// Delivering: identity, signature, photos, fees and position, then "Xác nhận đã phát".
// At a door of several envelopes (issue 11) the same screen hands them over at once: each
// envelope identified by its own scan (or typed code), one identity check applied to each, one
// signature, the photos taken once, the fees shown once per dossier, then one tap records an
// attempt per envelope, each with its own outcome, all pointing at the same files.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { formatVnd, sha256Hex } from "../format.js";
import { matchEnvelopeScan, normaliseEnvelopeCode } from "../codes.js";
import { doorAttempts, envelopeOutcome, feesDue } from "../doors.js";
import { IdentityForm } from "./identity.js";
import { SignatureBox } from "./signature.js";
import { PhotoList } from "./photos.js";
import { PositionLine } from "./position-line.js";
import { cameraErrorKey } from "./camera.js";

export class DeliverScreen {
  constructor(root, { camera, onBack, onSubmit }) {
    this.root = root;
    this.camera = camera;
    this.onSubmit = onSubmit;
    const onChange = () => this.update();
    this.authorization = new PhotoList({ camera, name: "auth-photo", label: t("take_authorization"), max: 2, onChange });
    this.identity = new IdentityForm(h("section", { class: "card" }), { camera, authorization: this.authorization, onChange });
    this.signature = new SignatureBox({ onChange });
    this.photos = new PhotoList({ camera, name: "photo", label: t("take_photo"), onChange });
    this.position = new PositionLine();
    this.fees = h("input", { id: "fees", testid: "fees", type: "number", inputmode: "numeric", min: "0", step: "500",
      oninput: () => { this.feesTyped = true; onChange(); } });
    this.missing = h("ul", { class: "missing", testid: "deliver-missing", "aria-live": "polite" });
    this.confirm = h("button", { class: "btn btn-primary btn-huge btn-block", type: "button", testid: "confirm-delivery", onclick: () => this.submit() }, `✔ ${t("confirm_delivery")}`);
    this.feesBox = h("section", { class: "card" });
    this.doorBox = h("section", { class: "card door-handover", testid: "door-envelopes", hidden: true });
    fill(root,
      h("button", { class: "btn btn-quiet back", type: "button", testid: "deliver-back", onclick: onBack }, `← ${t("back_to_stop")}`),
      this.heading = h("h2", { class: "screen-title", testid: "deliver-title" }),
      this.doorBox,
      this.identity.root,
      h("section", { class: "card", testid: "signature-section" }, h("h3", {}, t("signature_title")), this.signature.root),
      h("section", { class: "card" }, h("h3", {}, t("photos_title")), h("p", { class: "muted" }, t("photos_hint")), this.photos.root),
      this.feesBox,
      h("section", { class: "card" }, h("h3", {}, t("position_title")), this.position.root),
      this.missing,
      this.confirm);
  }

  /**
   * stop: the stop opened (identified); door: {scan, stops, paid, reasons} when its door holds
   * other envelopes still to hand over (stops: doors.js handoverStops, `stop` first; paid:
   * paidDossiers; reasons: the run's failure reasons, for their words). Without it, or with
   * one envelope, the screen is the one-envelope hand-over it always was.
   */
  open(stop, settings, door = null) {
    this.stop = stop;
    this.paid = door?.paid ?? new Set();
    this.reasons = door?.reasons ?? [];
    this.door = door && door.stops.length > 1
      ? door.stops.map((s) => ({ stop: s, scan: s.stop_id === stop.stop_id ? door.scan : null }))
      : null;
    this.doorMessage = null;
    this.heading.textContent = `${t("deliver_to")} ${stop.recipient.name}`;
    this.identity.reset(stop, this.door ? { representativeAllowed: this.door.some((e) => e.stop.representative_allowed) } : undefined);
    this.authorization.reset({ settings });
    this.photos.reset({ max: settings.max_photos ?? 6, settings });
    this.signature.clear();
    this.feesTyped = false;
    this.shownDue = null;
    this.position.locate();
    this.update();
    this.signature.resize();
  }

  /** The door's envelopes identified so far, each with its outcome for the person at the door. */
  get handover() {
    if (!this.door) return null;
    const relation = this.identity.relation;
    const weakConfirmed = this.identity.weakConfirmed;
    return this.door.map((e) => {
      const check = relation === "holder" ? this.identity.checkFor(e.stop.recipient) : this.identity.check;
      return { ...e, ...envelopeOutcome(e.stop, { relation, holderCheck: check?.outcome ?? null, weakConfirmed }) };
    });
  }

  /** The envelopes handed over this time (identified, outcome known) and what they collect. */
  get plan() {
    const included = (this.handover ?? []).filter((e) => e.scan && e.outcome);
    return doorAttempts(included, this.paid, {});
  }

  /** What the postman collects: per dossier, once (the door's), or this envelope's. */
  get feesDueNow() {
    return this.door ? this.plan.total : feesDue(this.stop, this.paid);
  }

  get missingKeys() {
    const out = [...this.identity.missing];
    if (this.door && this.identity.method && !this.plan.attempts.some((a) => a.outcome === "delivered")) {
      out.push("door_none_deliverable");
    }
    if (this.signature.isEmpty) out.push("missing_signature");
    if (!this.photos.items.length) out.push("missing_photo");
    if ((Number(this.fees.value) || 0) < this.feesDueNow) out.push("missing_fees");
    return out;
  }

  update() {
    if (!this.stop) return;
    this.renderFees();
    this.renderDoor();
    const keys = this.missingKeys;
    fill(this.missing, keys.map((k) => h("li", { "data-key": k }, t(k))));
    this.confirm.disabled = keys.length > 0 || this.busy;
    if (this.door) {
      const { attempts } = this.plan;
      const failed = attempts.filter((a) => a.outcome === "failed").length;
      this.confirm.textContent = `✔ ${t("door_confirm", { n: attempts.length - failed, failed })}`;
    } else {
      this.confirm.textContent = `✔ ${t("confirm_delivery")}`;
    }
  }

  /** The fees due: shown once, for the door's dossiers together (each once). */
  renderFees() {
    const due = this.feesDueNow;
    if (due !== this.shownDue) {
      // Follows what is due (the door's envelopes change it) until the postman types an amount.
      if (!this.feesTyped || this.shownDue === null) this.fees.value = String(due);
      this.shownDue = due;
      const perDossier = this.door ? this.plan.attempts.filter((a) => a.fees > 0) : [];
      fill(this.feesBox, h("h3", {}, t("fees_title")),
        h("p", {}, `${t("fees_due")}: `, h("strong", { testid: "fees-due" }, formatVnd(due))),
        perDossier.length > 1 || (perDossier.length && this.door.length > 1)
          ? h("ul", { class: "muted", testid: "fees-per-dossier" }, perDossier.map((a) =>
            h("li", {}, t("fees_for_dossier", { code: a.stop.dossier_code ?? a.stop.envelope_code }), " ", formatVnd(a.fees))))
          : null,
        h("label", { for: "fees" }, t("fees_collected")), this.fees);
    }
    this.feesBox.hidden = !due;
  }

  /** The door's envelopes: each identified by its scan, and what happens to it. */
  renderDoor() {
    this.doorBox.hidden = !this.door;
    if (!this.door) return;
    const handover = this.handover;
    const waiting = handover.filter((e) => !e.scan).length;
    const codeInput = h("input", { id: "door-code-input", testid: "door-code-input", autocomplete: "off",
      autocapitalize: "characters", spellcheck: "false", placeholder: "HC 1234 5678 5 VN" });
    const hadFocus = document.activeElement?.id === "door-code-input" ? this.doorCodeInput?.value ?? "" : null;
    this.doorCodeInput = codeInput;
    fill(this.doorBox,
      h("h3", {}, t("door_title", { n: handover.length })),
      h("p", { class: "muted" }, t("door_hint")),
      h("ul", { class: "door-stops" }, handover.map((e) => doorRow(e, this.identity.method, this.reasons))),
      waiting ? h("div", { class: "door-identify" },
        h("button", { class: "btn btn-primary btn-big btn-block", type: "button", testid: "door-scan", onclick: () => this.scanEnvelope() },
          t("door_scan_next")),
        h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); this.typedCode(codeInput.value); } },
          h("label", { for: "door-code-input" }, t("type_code")),
          h("div", { class: "row" }, codeInput, h("button", { class: "btn", type: "submit", testid: "door-code-submit" }, t("confirm_code"))))) : null,
      this.doorMessage ? h("p", { class: `notice notice-${this.doorMessage.tone}`, role: "alert", testid: "door-message" }, this.doorMessage.text) : null);
    if (hadFocus !== null && waiting) {
      codeInput.value = hadFocus;
      codeInput.focus();
    }
  }

  /** This envelope of the door identified: by its label's QR or its typed code. */
  identify(stopId, scan) {
    const entry = this.door.find((e) => e.stop.stop_id === stopId);
    entry.scan = scan;
    this.doorMessage = { tone: "ok", text: t(scan.method === "qr" ? "door_envelope_scanned" : "door_envelope_typed", { code: entry.stop.envelope_code }) };
    this.update();
  }

  async scanEnvelope() {
    const stops = this.door.map((e) => e.stop);
    let found = null;
    try {
      await this.camera.scan(t("scan_envelope"), async (text) => {
        const match = await matchEnvelopeScan(text, stops);
        if (match.result !== "match") return { done: false, message: doorScanMessage(match) };
        found = match;
        return { done: true };
      });
    } catch (err) {
      this.doorMessage = { tone: "warn", text: `${t(cameraErrorKey(err))} ${t("type_code")}.` };
      this.update();
      return;
    }
    if (found) this.identify(found.stop.stop_id, { method: "qr", payload: found.payload });
  }

  typedCode(text) {
    const code = normaliseEnvelopeCode(text);
    const entry = code && this.door.find((e) => e.stop.envelope_code === code);
    if (!entry) {
      this.doorMessage = { tone: "bad", text: t(code ? "door_not_here" : "code_invalid") };
      this.update();
      return;
    }
    if (this.doorCodeInput) this.doorCodeInput.value = "";
    this.identify(entry.stop.stop_id, entry.scan ?? { method: "typed", payload: null });
  }

  async submit() {
    if (this.missingKeys.length || this.busy) return;
    this.busy = true;
    this.confirm.disabled = true;
    try {
      if (this.door) {
        await this.submitDoor();
        return;
      }
      const files = [{ field: "signature", blob: await this.signature.png(), filename: "signature.png" }];
      for (const [i, p] of this.photos.items.entries()) files.push({ field: "photo", blob: p.blob, sha256: p.sha256, filename: `photo-${i + 1}.jpg` });
      for (const [i, p] of this.authorization.items.entries()) files.push({ field: "authorization", blob: p.blob, sha256: p.sha256, filename: `authorization-${i + 1}.jpg` });
      await this.onSubmit({
        stop: this.stop,
        outcome: "delivered",
        recipient: this.identity.recipient,
        note: this.identity.note,
        fees: Number(this.fees.value) || 0,
        strokes: this.signature.strokes,
        position: this.position.value,
        files,
      });
    } finally {
      this.busy = false;
      this.update();
    }
  }

  /** One attempt per envelope handed over, all pointing at the door's one set of files. */
  async submitDoor() {
    const blob = await this.signature.png();
    const signature = { field: "signature", blob, sha256: await sha256Hex(blob), filename: "signature.png" };
    const photos = this.photos.items.map((p, i) => ({ field: "photo", blob: p.blob, sha256: p.sha256, filename: `photo-${i + 1}.jpg` }));
    const authorization = this.identity.relation === "holder" ? []
      : this.authorization.items.map((p, i) => ({ field: "authorization", blob: p.blob, sha256: p.sha256, filename: `authorization-${i + 1}.jpg` }));
    const included = this.handover.filter((e) => e.scan && e.outcome);
    const { attempts } = doorAttempts(included, this.paid, {
      recipient: this.identity.recipient,
      note: this.identity.note,
      strokes: this.signature.strokes,
      position: this.position.value,
      signature,
      photos,
      authorization,
    });
    await this.onSubmit({ stop: this.stop, door: attempts });
  }
}

function doorScanMessage(match) {
  switch (match.result) {
    case "not_on_run": return t("door_not_here");
    case "forged": return t("scan_forged");
    case "id_card": return t("scan_id_here");
    default: return t("scan_not_envelope");
  }
}

/** One envelope of the door: its code and paper, identified or not, and what happens to it. */
function doorRow(entry, method, reasons) {
  const { stop, scan, outcome, why, reasonCode } = entry;
  const reason = reasons.find((r) => r.code === reasonCode)?.label ?? reasonCode;
  let verdict;
  if (!scan) verdict = h("p", { class: "muted", testid: "door-verdict" }, t("door_not_identified"));
  else if (outcome === "failed") {
    verdict = h("p", { class: "notice notice-bad", testid: "door-verdict" }, `✖ ${t("door_will_fail")}: ${reason}. ${t(`door_why_${why}`)}`);
  } else if (outcome === "delivered") verdict = h("p", { class: "notice notice-ok", testid: "door-verdict" }, `✔ ${t("door_will_deliver")}`);
  else verdict = h("p", { class: "muted", testid: "door-verdict" }, t(method ? "door_identity_incomplete" : "door_identity_first"));
  return h("li", { class: "stop", testid: `door-envelope-${stop.envelope_code}`,
    "data-identified": scan ? "yes" : "no", "data-outcome": scan ? outcome ?? "none" : "none" },
  h("div", { class: "stop-head" },
    h("strong", {}, stop.result_type_label ?? stop.procedure_name ?? ""),
    h("span", { class: `badge ${scan ? "badge-delivered" : "badge-open"}` }, scan ? t(scan.method === "qr" ? "door_scanned" : "door_typed") : t("door_waiting"))),
  h("p", { class: "muted" }, stop.envelope_code, stop.dossier_code ? ` · ${stop.dossier_code}` : ""),
  verdict);
}
