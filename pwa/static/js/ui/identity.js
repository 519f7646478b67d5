// Who takes the envelope and how their identity is checked: chip ID QR, typed, or read off VNeID.
// The holder is compared with the recipient by one rule whatever the method (checkHolder): a
// mismatch blocks the delivery, a weak match needs the postman's explicit confirmation.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { parseCccdQr, InvalidIdQr, idQrReasonKey } from "../cccd.js";
import { DOCUMENT_TYPES, checkHolder, normaliseDocumentNumber } from "../attempts.js";
import { classifyScan } from "../codes.js";
import { cameraErrorKey } from "./camera.js";

const RELATIONS = ["holder", "representative", "organisation_representative"];
const LAST4 = /^[0-9]{4}$/;

/** The four digits typed off VNeID's screen (spaces dropped), or null when they are not four digits. */
function normaliseLast4(text) {
  const digits = String(text ?? "").replace(/\s+/g, "");
  return LAST4.test(digits) ? digits : null;
}

export class IdentityForm {
  /** camera: a CameraView; photos: a PhotoList for the authorisation paper; onChange(). */
  constructor(root, { camera, authorization, onChange }) {
    this.root = root;
    this.camera = camera;
    this.authorization = authorization;
    this.onChange = onChange;
  }

  /**
   * representativeAllowed: whether someone other than the holder may receive here; by default
   * the stop's rule. At a door of several envelopes, whether any of them allows it (each
   * envelope's own rule then decides which are handed over: doors.js envelopeOutcome).
   */
  reset(stop, { representativeAllowed = stop.representative_allowed } = {}) {
    this.stop = stop;
    this.representativeAllowed = representativeAllowed;
    this.relation = "holder";
    this.method = null;
    this.idDocumentType = "cccd";
    this.cardName = null;
    this.weakConfirmed = false;
    this.confirmedFor = null;
    this.render();
  }

  /** The recipient for the attempt's meta, or null when the check is incomplete. */
  get recipient() {
    if (!this.method) return null;
    const vneid = this.method === "vneid_shown";
    return {
      name: this.nameInput.value.trim(),
      relation: this.relation,
      id_document_type: this.documentType,
      id_check_method: this.method,
      id_number: vneid ? null : normaliseDocumentNumber(this.documentType, this.idNumber.value),
      id_last4: vneid ? normaliseLast4(this.last4Input.value) : null,
      weak_match_confirmed: this.match === "weak" && this.weakConfirmed,
    };
  }

  /** The paper shown: chosen when typed; the chip card's QR and VNeID are the CCCD. */
  get documentType() {
    return this.method === "typed" ? this.idDocumentType : "cccd";
  }

  /** The representative's stated relation, kept in the attempt's note. */
  get note() {
    const rel = this.repRelation?.value.trim();
    return this.relation !== "holder" && rel ? `${t("rep_relation")}: ${rel}` : "";
  }

  /**
   * How the identity compares to the recipient, or null while incomplete (no name, or a number
   * that is not yet well formed): {outcome: "match" | "weak" | "mismatch" | "read", numberMatch}.
   * A representative's own ID is read, not compared with the holder's.
   */
  get check() {
    return this.checkFor(this.stop.recipient);
  }

  /** The check against another envelope's recipient (at a door of several envelopes). */
  checkFor(expected) {
    if (!this.method) return null;
    const name = this.nameInput.value.trim();
    const vneid = this.method === "vneid_shown";
    const idNumber = vneid ? null : normaliseDocumentNumber(this.documentType, this.idNumber.value);
    const idLast4 = vneid ? normaliseLast4(this.last4Input.value) : null;
    if (!name || !(vneid ? idLast4 : idNumber)) return null;
    if (this.relation !== "holder") return { outcome: "read", numberMatch: null };
    return checkHolder(expected, { method: this.method, documentType: this.documentType, name, idNumber, idLast4 });
  }

  /** "match" | "weak" | "mismatch" | "read" | null: how the identity compares to the recipient. */
  get match() {
    return this.check?.outcome ?? null;
  }

  /** What the confirmation of a weak match was given for: another name or number asks again. */
  get identityKey() {
    return JSON.stringify([this.method, this.documentType, this.relation, this.nameInput.value.trim(),
      this.method === "vneid_shown" ? this.last4Input.value.trim() : this.idNumber.value.trim()]);
  }

  /** The reasons the identity check does not yet allow a delivery (i18n keys). */
  get missing() {
    const out = [];
    const check = this.check;
    if (!this.method || check === null) out.push("missing_identity");
    if (check?.outcome === "mismatch") {
      out.push(check.numberMatch === false ? "missing_identity_mismatch_number" : "missing_identity_mismatch_name");
    }
    if (check?.outcome === "weak" && !this.weakConfirmed) out.push("missing_weak_confirm");
    if (this.relation !== "holder" && !this.authorization.items.length) out.push("missing_authorization");
    return out;
  }

  render() {
    const stop = this.stop;
    const allowed = this.representativeAllowed ?? stop.representative_allowed;
    const vneid = this.method === "vneid_shown";
    this.nameInput = h("input", { id: "id-name", testid: "id-name", autocomplete: "off", oninput: () => this.update() });
    const docType = this.documentType;
    this.idNumber = h("input", { id: "id-number", testid: "id-number", autocomplete: "off",
      inputmode: docType === "cccd" ? "numeric" : "text", autocapitalize: docType === "cccd" ? "off" : "characters",
      maxlength: docType === "cccd" ? "14" : "24", "aria-describedby": "id-number-error", oninput: () => this.update() });
    this.numberError = h("p", { id: "id-number-error", class: "notice notice-warn", testid: "id-number-error", hidden: true });
    // VNeID's screen is read by eye: the last four digits of the number it shows, typed big.
    this.last4Input = h("input", { id: "id-last4", testid: "id-last4", class: "input-last4", autocomplete: "off",
      inputmode: "numeric", pattern: "[0-9]*", maxlength: "4", placeholder: "0000", "aria-describedby": "id-last4-error",
      oninput: () => this.update() });
    this.last4Error = h("p", { id: "id-last4-error", class: "notice notice-warn", testid: "id-last4-error", hidden: true });
    this.repRelation = h("input", { id: "rep-relation", testid: "rep-relation", autocomplete: "off", placeholder: t("rep_relation_hint") });
    this.result = h("div", { class: "match", testid: "id-result", role: "status", "aria-live": "polite" });
    this.weakCheckbox = h("input", { type: "checkbox", id: "weak-confirm", testid: "weak-confirm",
      onchange: () => {
        this.weakConfirmed = this.weakCheckbox.checked;
        this.confirmedFor = this.identityKey;
        this.update();
      } });
    this.weakBox = h("label", { class: "confirm-weak", for: "weak-confirm", testid: "weak-confirm-box", hidden: true },
      this.weakCheckbox, h("span", {}, t("weak_confirm")));
    this.methodNote = h("p", { class: "muted", testid: "id-method" });
    const radios = RELATIONS.map((code) => {
      const disabled = code !== "holder" && !allowed;
      return h("label", { class: `choice${disabled ? " choice-disabled" : ""}` },
        h("input", { type: "radio", name: "relation", value: code, testid: `relation-${code}`, checked: code === this.relation, disabled,
          onchange: () => { this.relation = code; this.render(); this.onChange(); } }),
        h("span", {}, t(`relation_${code}`)));
    });
    const docTypes = this.method !== "typed" ? null : h("fieldset", { class: "choices", testid: "id-doctype" },
      h("legend", {}, t("doctype_legend")),
      DOCUMENT_TYPES.map((code) => h("label", { class: "choice" },
        h("input", { type: "radio", name: "id-doctype", value: code, testid: `id-doctype-${code}`, checked: code === docType,
          onchange: () => this.chooseDocumentType(code) }),
        h("span", {}, t(`doctype_${code}`)))));
    const holder = this.relation === "holder";
    this.fields = h("div", { class: "form", hidden: !this.method || this.method === "chip_qr" && !this.cardName },
      docTypes,
      h("label", { for: "id-name" }, vneid ? t(holder ? "id_name_vneid" : "rep_name_vneid") : t(holder ? "id_name" : "rep_name")),
      this.nameInput,
      vneid
        ? [h("label", { for: "id-last4" }, t("id_last4_vneid")), this.last4Input, this.last4Error]
        : [h("label", { for: "id-number" }, t(`id_number_${docType}`)), this.idNumber, this.numberError]);
    fill(this.root,
      h("h3", {}, t("identity_title")),
      h("p", {}, t("expected_recipient"), " ", h("strong", { testid: "expected-name" }, stop.recipient.name),
        stop.recipient.id_last4 ? [" · ", t("id_ends_with"), " ", h("strong", { testid: "expected-last4" }, stop.recipient.id_last4)] : null),
      h("fieldset", { class: "choices" }, h("legend", {}, t("relation_legend")), radios,
        allowed ? null : h("p", { class: "notice notice-warn", testid: "holder-only-note" }, t("holder_only_explained"))),
      h("div", { class: "actions actions-col" },
        h("button", { class: "btn btn-primary btn-big", type: "button", testid: "id-scan", onclick: () => this.scanCard() }, t("scan_id_card")),
        h("button", { class: "btn btn-big", type: "button", testid: "id-manual", onclick: () => this.choose("typed") }, t("id_typed")),
        h("button", { class: "btn btn-big", type: "button", testid: "id-vneid", onclick: () => this.choose("vneid_shown") }, t("id_vneid"))),
      this.methodNote,
      this.fields,
      holder ? null : h("div", { class: "form rep" },
        h("label", { for: "rep-relation" }, t("rep_relation")), this.repRelation,
        h("p", { class: "label" }, t("authorization_photo")), this.authorization.root),
      this.result,
      this.weakBox,
    );
    if (this.cardName) {
      this.nameInput.value = this.cardName.name;
      this.idNumber.value = this.cardName.idNumber;
      this.nameInput.readOnly = this.idNumber.readOnly = true;
    }
    this.update();
  }

  /** Another paper was chosen: keep what was typed, check the number against its rule. */
  chooseDocumentType(code) {
    const name = this.nameInput.value;
    const number = this.idNumber.value;
    this.idDocumentType = code;
    this.render();
    this.nameInput.value = name;
    this.idNumber.value = number;
    this.update();
  }

  choose(method) {
    this.method = method;
    this.cardName = null;
    this.render();
    this.onChange();
    this.nameInput.focus();
  }

  async scanCard() {
    let text;
    try {
      text = await this.camera.scan(t("scan_id_card"), async (raw) => {
        if (classifyScan(raw).kind === "envelope") return { done: false, message: t("scan_is_envelope") };
        try {
          parseCccdQr(raw);
          return { done: true };
        } catch (err) {
          // Say why the card is refused (its number contradicts the birth date…): the postman can act on it.
          if (err instanceof InvalidIdQr) return { done: false, message: t(idQrReasonKey(err)) };
          throw err;
        }
      });
    } catch (err) {
      this.cameraFailed(err);
      return;
    }
    if (!text) return;
    const card = parseCccdQr(text);
    this.method = "chip_qr";
    this.cardName = { name: card.fullName, idNumber: card.idNumber };
    this.render();
    this.onChange();
  }

  cameraFailed(err) {
    this.method = "typed";
    this.render();
    this.methodNote.textContent = `${t(cameraErrorKey(err))} ${t("typed_fallback")}`;
    this.methodNote.className = "notice notice-warn";
    this.onChange();
  }

  update() {
    const check = this.check;
    const match = check?.outcome ?? null;
    const method = this.method;
    if (this.methodNote && !this.methodNote.classList.contains("notice")) {
      this.methodNote.textContent = method ? t(`method_${method}`) : t("choose_method");
    }
    const docType = this.documentType;
    if (this.numberError) {
      const typed = this.idNumber.value.trim();
      const bad = method !== "vneid_shown" && typed !== "" && !normaliseDocumentNumber(docType, typed);
      showError(this.idNumber, this.numberError, bad ? t(`id_number_invalid_${docType}`) : "");
      const typedLast4 = this.last4Input.value.trim();
      const badLast4 = method === "vneid_shown" && typedLast4 !== "" && !normaliseLast4(typedLast4);
      showError(this.last4Input, this.last4Error, badLast4 ? t("id_last4_invalid") : "");
    }
    // A confirmation holds for the identity it was given for: another name or number asks again.
    if (this.weakConfirmed && this.confirmedFor !== this.identityKey) this.weakConfirmed = false;
    this.weakCheckbox.checked = this.weakConfirmed;
    this.weakBox.hidden = match !== "weak";
    const key = resultKey(check, docType, this.stop.recipient);
    this.result.dataset.match = match ?? "none";
    this.result.className = `match match-${match ?? "none"}`;
    this.result.textContent = key ? t(key) : "";
    this.result.hidden = !key;
    this.onChange?.();
  }
}

/** Show (or clear, with "") a field's error, marking the field invalid for screen readers. */
function showError(input, box, text) {
  box.hidden = !text;
  box.textContent = text;
  if (text) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/** The words for a check's outcome: what agreed, and for a mismatch, what did not. */
function resultKey(check, docType, recipient) {
  switch (check?.outcome) {
    case "match": return recipient.id_last4 ? "match_ok" : "match_ok_name_only";
    case "weak": return docType === "cccd" ? "match_weak" : `match_weak_${docType}`;
    case "mismatch": return check.numberMatch === false ? "match_bad_number" : "match_bad_name";
    case "read": return "match_read";
    default: return null;
  }
}
