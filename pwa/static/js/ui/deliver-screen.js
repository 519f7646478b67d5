// Delivering: identity, signature, photos, fees and position, then "Xác nhận đã phát".
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { formatVnd } from "../format.js";
import { IdentityForm } from "./identity.js";
import { SignatureBox } from "./signature.js";
import { PhotoList } from "./photos.js";
import { PositionLine } from "./position-line.js";

export class DeliverScreen {
  constructor(root, { camera, onBack, onSubmit }) {
    this.root = root;
    this.onSubmit = onSubmit;
    const onChange = () => this.update();
    this.authorization = new PhotoList({ camera, name: "auth-photo", label: t("take_authorization"), max: 2, onChange });
    this.identity = new IdentityForm(h("section", { class: "card" }), { camera, authorization: this.authorization, onChange });
    this.signature = new SignatureBox({ onChange });
    this.photos = new PhotoList({ camera, name: "photo", label: t("take_photo"), onChange });
    this.position = new PositionLine();
    this.fees = h("input", { id: "fees", testid: "fees", type: "number", inputmode: "numeric", min: "0", step: "500", oninput: onChange });
    this.missing = h("ul", { class: "missing", testid: "deliver-missing", "aria-live": "polite" });
    this.confirm = h("button", { class: "btn btn-primary btn-huge btn-block", type: "button", testid: "confirm-delivery", onclick: () => this.submit() }, `✔ ${t("confirm_delivery")}`);
    this.feesBox = h("section", { class: "card" });
    fill(root,
      h("button", { class: "btn btn-quiet back", type: "button", testid: "deliver-back", onclick: onBack }, `← ${t("back_to_stop")}`),
      this.heading = h("h2", { class: "screen-title", testid: "deliver-title" }),
      this.identity.root,
      h("section", { class: "card", testid: "signature-section" }, h("h3", {}, t("signature_title")), this.signature.root),
      h("section", { class: "card" }, h("h3", {}, t("photos_title")), h("p", { class: "muted" }, t("photos_hint")), this.photos.root),
      this.feesBox,
      h("section", { class: "card" }, h("h3", {}, t("position_title")), this.position.root),
      this.missing,
      this.confirm);
  }

  open(stop, settings) {
    this.stop = stop;
    this.heading.textContent = `${t("deliver_to")} ${stop.recipient.name}`;
    this.identity.reset(stop);
    this.authorization.reset({ settings });
    this.photos.reset({ max: settings.max_photos ?? 6, settings });
    this.signature.clear();
    this.fees.value = String(stop.fees_due_vnd ?? 0);
    fill(this.feesBox, h("h3", {}, t("fees_title")),
      h("p", {}, `${t("fees_due")}: `, h("strong", { testid: "fees-due" }, formatVnd(stop.fees_due_vnd ?? 0))),
      h("label", { for: "fees" }, t("fees_collected")), this.fees);
    this.feesBox.hidden = !stop.fees_due_vnd;
    this.position.locate();
    this.update();
    this.signature.resize();
  }

  get missingKeys() {
    const out = [...this.identity.missing];
    if (this.signature.isEmpty) out.push("missing_signature");
    if (!this.photos.items.length) out.push("missing_photo");
    if ((Number(this.fees.value) || 0) < (this.stop.fees_due_vnd ?? 0)) out.push("missing_fees");
    return out;
  }

  update() {
    if (!this.stop) return;
    const keys = this.missingKeys;
    fill(this.missing, keys.map((k) => h("li", { "data-key": k }, t(k))));
    this.confirm.disabled = keys.length > 0 || this.busy;
  }

  async submit() {
    if (this.missingKeys.length || this.busy) return;
    this.busy = true;
    this.confirm.disabled = true;
    try {
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
}
