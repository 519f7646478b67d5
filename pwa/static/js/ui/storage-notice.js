// Whether the phone keeps the unsent proofs, and a warning before it runs out of room.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";

export class StorageNotice {
  constructor(root) {
    this.root = root;
  }

  /** notices: from StorageGuard.notices(); persistence and pending for the tests and support. */
  render(notices, { persistence, pending }) {
    this.root.dataset.persistence = persistence;
    this.root.dataset.pending = String(pending);
    fill(this.root, notices.map((n) =>
      h("p", { class: n.tone === "ok" ? "storage-kept" : `notice notice-${n.tone}`, testid: `storage-${n.kind}`,
        role: n.tone === "bad" ? "alert" : null }, t(n.key, n.vars))));
    this.root.hidden = !notices.length;
  }
}
