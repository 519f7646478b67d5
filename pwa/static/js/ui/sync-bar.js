// How many attempts wait to sync (and what they weigh), the progress of a sync running, rejected
// ones, a sync button, and the log-in link after a 401.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { formatMegabytes } from "../format.js";

/** The progress of a running flush (outbox.js `progress`) in words: "Đang gửi 12/500 · còn 48 MB". */
export function progressText(progress, lang) {
  const n = Math.min(progress.done + 1, progress.total);
  return t("sync_progress", { n, total: progress.total, size: formatMegabytes(progress.bytesLeft, lang) });
}

/** Percent of the bytes sent: how far along the sync is in time, near enough. */
function percentSent(progress) {
  if (!progress.bytesTotal) return progress.total ? Math.round((100 * progress.done) / progress.total) : 0;
  return Math.round((100 * (progress.bytesTotal - progress.bytesLeft)) / progress.bytesTotal);
}

export class SyncBar {
  constructor(root, { onSync }) {
    this.root = root;
    this.onSync = onSync;
    this.shape = null;
    this.count = null;
    this.bar = null;
  }

  /**
   * pending: attempts waiting; pendingBytes: what they weigh; progress: the running flush's or
   * null. While a sync runs, an acknowledgement only updates the count and the bar in place
   * (the bar is a polite live region: rebuilding it after each of 500 acks would make a screen
   * reader read it out 500 times, and cost a layout each time).
   */
  render({ pending, pendingBytes = null, progress = null, rejected, syncing, loginRequired, online, savedAt = null }) {
    const lang = document.documentElement.lang || "vi";
    const sending = syncing && progress != null;
    const shape = JSON.stringify({ pending: sending ? null : pending, pendingBytes: sending ? null : pendingBytes,
      sending, rejected, syncing, loginRequired, online, savedAt, lang });
    if (shape === this.shape && sending) {
      this.update(pending, progress, lang);
      return;
    }
    this.shape = shape;
    this.root.className = `syncbar ${loginRequired || rejected ? "syncbar-bad" : pending ? "syncbar-warn" : "syncbar-ok"}`;
    this.count = h("span", { testid: "pending-count", hidden: !syncing && !pending && rejected > 0 });
    this.bar = sending
      ? h("span", { class: "sync-progress", role: "progressbar", testid: "sync-progress", "aria-label": t("sync_progress_label"),
        "aria-valuemin": "0", "aria-valuemax": "100", "aria-live": "off" }, h("span", { class: "sync-progress-done" }))
      : null;
    fill(this.root,
      h("span", { class: "net", testid: "network-state" }, online ? t("online") : t("offline")),
      this.count,
      this.bar,
      h("span", { testid: "rejected-count", "data-count": String(rejected), hidden: !rejected }, rejected ? t("rejected_n", { n: rejected }) : ""),
      loginRequired
        ? h("a", { class: "btn btn-small btn-login", href: "/login?next=/app", testid: "login-again" }, t("session_expired"))
        : pending && !syncing
          ? h("button", { class: "btn btn-small", type: "button", testid: "sync-now", onclick: this.onSync }, t("sync_now"))
          : null,
      savedAt ? h("span", { class: "muted", testid: "run-saved-at" }, t("run_stale", { time: savedAt })) : null);
    if (sending) {
      this.count.setAttribute("aria-live", "off"); // the bar's own value says it; see above
      this.update(pending, progress, lang);
      return;
    }
    this.root.dataset.pending = String(pending);
    this.count.dataset.count = String(pending);
    // "All synced" only when nothing waits, neither to be sent nor for the postman's decision.
    const waiting = pendingBytes ? t("pending_n_size", { n: pending, size: formatMegabytes(pendingBytes, lang) })
      : t("pending_n", { n: pending });
    fill(this.count, syncing ? [h("span", { class: "spinner", "aria-hidden": "true" }), t("syncing", { n: pending })]
      : pending ? waiting : rejected ? "" : t("all_synced"));
  }

  /** The count and the bar of a running sync, changed in place. */
  update(pending, progress, lang) {
    const text = progressText(progress, lang);
    this.root.dataset.pending = String(pending);
    this.count.dataset.count = String(pending);
    this.count.dataset.left = String(progress.bytesLeft);
    fill(this.count, h("span", { class: "spinner", "aria-hidden": "true" }), text);
    const percent = percentSent(progress);
    this.bar.setAttribute("aria-valuenow", String(percent));
    this.bar.setAttribute("aria-valuetext", text);
    this.bar.firstChild.style.width = `${percent}%`;
  }
}
