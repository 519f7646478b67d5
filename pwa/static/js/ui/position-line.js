// The GPS fix for an attempt, with its accuracy, or why there is none.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { currentPosition } from "../position.js";

export class PositionLine {
  constructor() {
    this.root = h("div", { class: "position", testid: "position", role: "status", "aria-live": "polite" });
    this.value = null;
  }

  /** `fresh`: a new fix, never one the phone already held (the postman asked again). */
  async locate({ fresh = false } = {}) {
    this.value = null;
    this.done = false;
    fill(this.root, h("span", { class: "spinner", "aria-hidden": "true" }), t("locating"));
    this.root.dataset.state = "locating";
    const { position, reason } = await currentPosition(fresh ? { maxAge: 0 } : {});
    this.value = position;
    this.done = true;
    this.root.dataset.state = position ? "ok" : reason;
    fill(this.root,
      position ? t("position_ok", { m: Math.round(position.accuracy_m) }) : t(`position_${reason}`),
      " ",
      h("button", { class: "btn btn-small", type: "button", testid: "position-retry", onclick: () => this.locate({ fresh: true }) }, t("relocate")));
  }
}
