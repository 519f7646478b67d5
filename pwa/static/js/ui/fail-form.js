// A failed attempt: the reason (a note for "other"), an optional photo, the position.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { PhotoList } from "./photos.js";
import { PositionLine } from "./position-line.js";

export class FailForm {
  constructor(root, { camera, onBack, onSubmit }) {
    this.root = root;
    this.onSubmit = onSubmit;
    this.onBack = onBack;
    this.photos = new PhotoList({ camera, name: "fail-photo", label: t("take_photo"), max: 2, onChange: () => this.update() });
    this.position = new PositionLine();
  }

  open(stop, reasons, settings) {
    this.stop = stop;
    this.reason = null;
    this.reasons = reasons;
    this.photos.reset({ settings });
    this.note = h("textarea", { id: "fail-note", testid: "fail-note", rows: 3, oninput: () => this.update() });
    this.missing = h("p", { class: "muted", testid: "fail-missing", "aria-live": "polite" });
    this.confirm = h("button", { class: "btn btn-danger btn-huge btn-block", type: "button", testid: "confirm-failure", onclick: () => this.submit() }, t("confirm_failure"));
    fill(this.root,
      h("button", { class: "btn btn-quiet back", type: "button", testid: "fail-back", onclick: this.onBack }, `← ${t("back_to_stop")}`),
      h("h2", { class: "screen-title", testid: "fail-title" }, `${t("fail_title")}: ${stop.recipient.name}`),
      h("fieldset", { class: "card choices" }, h("legend", {}, t("reason_legend")),
        reasons.map((r) => h("label", { class: "choice" },
          h("input", { type: "radio", name: "reason", value: r.code, testid: `reason-${r.code}`, onchange: () => { this.reason = r; this.update(); } }),
          h("span", {}, r.label)))),
      h("section", { class: "card form" }, h("label", { for: "fail-note" }, t("note")), this.note),
      h("section", { class: "card" }, h("h3", {}, t("photo_optional")), this.photos.root),
      h("section", { class: "card" }, h("h3", {}, t("position_title")), this.position.root),
      this.missing,
      this.confirm);
    this.position.locate();
    this.update();
  }

  update() {
    let missing = "";
    if (!this.reason) missing = t("missing_reason");
    else if (this.reason.needs_note && !this.note.value.trim()) missing = t("missing_note");
    this.missing.textContent = missing;
    this.confirm.disabled = Boolean(missing) || this.busy;
  }

  async submit() {
    this.update();
    if (this.confirm.disabled) return;
    this.busy = true;
    this.confirm.disabled = true;
    try {
      await this.onSubmit({
        stop: this.stop,
        outcome: "failed",
        reasonCode: this.reason.code,
        note: this.note.value.trim(),
        position: this.position.value,
        files: this.photos.items.map((p, i) => ({ field: "photo", blob: p.blob, sha256: p.sha256, filename: `photo-${i + 1}.jpg` })),
      });
    } finally {
      this.busy = false;
      this.update();
    }
  }
}
