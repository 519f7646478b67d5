// "A new version is ready — reload": shown when a new service worker is waiting.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";

export class UpdatePrompt {
  constructor(root) {
    this.root = root;
  }

  /** Offer the waiting worker; pressing the button asks it to take over (then the page reloads). */
  show(worker) {
    fill(this.root,
      h("span", {}, t("update_ready")),
      h("button", { class: "btn btn-small", type: "button", testid: "update-reload",
        onclick: () => worker.postMessage({ type: "skip-waiting" }) }, t("reload")));
    this.root.hidden = false;
  }
}
