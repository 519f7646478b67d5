// Who takes the envelope and how their identity is checked: chip ID QR, typed, or VNeID by eye.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { parseCccdQr, InvalidIdQr, idQrReasonKey } from "../cccd.js";
import { DOCUMENT_TYPES, documentMatch, normaliseDocumentNumber } from "../attempts.js";
import { classifyScan } from "../codes.js";
import { cameraErrorKey } from "./camera.js";

const RELATIONS = ["holder", "representative", "organisation_representative"];

export class IdentityForm {
  /** camera: a CameraView; photos: a PhotoList for the authorisation paper; onChange(). */
  constructor(root, { camera, authorization, onChange }) {
    this.root = root;
    this.camera = camera;
    this.authorization = authorization;
    this.onChange = onChange;
  }

  reset(stop) {
    this.stop = stop;
    this.relation = "holder";
    this.method = null;
    this.idDocumentType = "cccd";
    this.cardName = null;
    this.render();
  }

  /** The recipient for the attempt's meta, or null when the check is incomplete. */
  get recipient() {
    if (!this.method) return null;
    const idNumber = normaliseDocumentNumber(this.documentType, this.idNumber.value);
    return {
      name: this.nameInput.value.trim(),
      relation: this.relation,
      id_document_type: this.documentType,
      id_check_method: this.method,
      id_number: this.method === "vneid_shown" ? null : idNumber,
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

  /** "match" | "weak" | "mismatch" | "eye" | null: how the identity compares to the recipient. */
  get match() {
    if (!this.method) return null;
    if (this.method === "vneid_shown") return this.nameInput.value.trim() ? "eye" : null;
    const name = this.nameInput.value.trim();
    const idNumber = normaliseDocumentNumber(this.documentType, this.idNumber.value);
    if (!name || !idNumber) return null;
    if (this.relation !== "holder") return "read";
    return documentMatch(this.stop.recipient, this.documentType, name, idNumber);
  }

  /** The reasons the identity check does not yet allow a delivery (i18n keys). */
  get missing() {
    const out = [];
    const match = this.match;
    if (!this.method || match === null) out.push("missing_identity");
    if (this.relation === "holder" && match === "mismatch") out.push("missing_identity_mismatch");
    if (this.relation !== "holder" && !this.authorization.items.length) out.push("missing_authorization");
    return out;
  }

  render() {
    const stop = this.stop;
    const allowed = stop.representative_allowed;
    this.nameInput = h("input", { id: "id-name", testid: "id-name", autocomplete: "off", oninput: () => this.update() });
    const docType = this.documentType;
    this.idNumber = h("input", { id: "id-number", testid: "id-number", autocomplete: "off",
      inputmode: docType === "cccd" ? "numeric" : "text", autocapitalize: docType === "cccd" ? "off" : "characters",
      maxlength: docType === "cccd" ? "14" : "24", "aria-describedby": "id-number-error", oninput: () => this.update() });
    this.numberError = h("p", { id: "id-number-error", class: "notice notice-warn", testid: "id-number-error", hidden: true });
    this.repRelation = h("input", { id: "rep-relation", testid: "rep-relation", autocomplete: "off", placeholder: t("rep_relation_hint") });
    this.result = h("div", { class: "match", testid: "id-result", role: "status", "aria-live": "polite" });
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
    this.fields = h("div", { class: "form", hidden: !this.method || this.method === "chip_qr" && !this.cardName },
      docTypes,
      h("label", { for: "id-name" }, this.relation === "holder" ? t("id_name") : t("rep_name")), this.nameInput,
      h("label", { for: "id-number", hidden: this.method === "vneid_shown" }, t(`id_number_${docType}`)),
      this.method === "vneid_shown" ? null : [this.idNumber, this.numberError]);
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
      this.relation === "holder" ? null : h("div", { class: "form rep" },
        h("label", { for: "rep-relation" }, t("rep_relation")), this.repRelation,
        h("p", { class: "label" }, t("authorization_photo")), this.authorization.root),
      this.result,
    );
    if (this.cardName) {
      this.nameInput.value = this.cardName.name;
      this.idNumber.value = this.cardName.idNumber;
      this.nameInput.readOnly = this.idNumber.readOnly = true;
    }
    if (this.method === "vneid_shown" && this.relation === "holder") this.nameInput.value = stop.recipient.name;
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
    if (method === "typed") this.nameInput.focus();
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
    const match = this.match;
    const method = this.method;
    if (this.methodNote && !this.methodNote.classList.contains("notice")) {
      this.methodNote.textContent = method ? t(`method_${method}`) : t("choose_method");
    }
    const docType = this.documentType;
    const weakKey = docType === "cccd" ? "match_weak" : `match_weak_${docType}`;
    const key = { match: "match_ok", weak: weakKey, mismatch: "match_bad", eye: "match_eye", read: "match_read" }[match];
    if (this.numberError) {
      const typed = this.idNumber.value.trim();
      const bad = this.method !== "vneid_shown" && typed !== "" && !normaliseDocumentNumber(docType, typed);
      this.numberError.hidden = !bad;
      this.numberError.textContent = bad ? t(`id_number_invalid_${docType}`) : "";
      if (bad) this.idNumber.setAttribute("aria-invalid", "true");
      else this.idNumber.removeAttribute("aria-invalid");
    }
    this.result.dataset.match = match ?? "none";
    this.result.className = `match match-${match ?? "none"}`;
    this.result.textContent = key ? t(key) : "";
    this.result.hidden = !key;
    this.onChange?.();
  }
}
