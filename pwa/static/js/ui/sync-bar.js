// How many attempts wait to sync, rejected ones, a sync button, and the log-in link after a 401.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";

export class SyncBar {
  constructor(root, { onSync }) {
    this.root = root;
    this.onSync = onSync;
  }

  render({ pending, rejected, syncing, loginRequired, online, savedAt = null }) {
    this.root.dataset.pending = String(pending);
    this.root.className = `syncbar ${loginRequired || rejected ? "syncbar-bad" : pending ? "syncbar-warn" : "syncbar-ok"}`;
    fill(this.root,
      h("span", { class: "net", testid: "network-state" }, online ? t("online") : t("offline")),
      // "All synced" only when nothing waits, neither to be sent nor for the postman's decision.
      h("span", { testid: "pending-count", "data-count": String(pending), hidden: !syncing && !pending && rejected > 0 },
        syncing ? [h("span", { class: "spinner", "aria-hidden": "true" }), t("syncing", { n: pending })]
        : pending ? t("pending_n", { n: pending }) : rejected ? "" : t("all_synced")),
      h("span", { testid: "rejected-count", "data-count": String(rejected), hidden: !rejected }, rejected ? t("rejected_n", { n: rejected }) : ""),
      loginRequired
        ? h("a", { class: "btn btn-small btn-login", href: "/login?next=/app", testid: "login-again" }, t("session_expired"))
        : pending && !syncing
          ? h("button", { class: "btn btn-small", type: "button", testid: "sync-now", onclick: this.onSync }, t("sync_now"))
          : null,
      savedAt ? h("span", { class: "muted", testid: "run-saved-at" }, t("run_stale", { time: savedAt })) : null);
  }
}
