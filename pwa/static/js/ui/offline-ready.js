// Whether the app can work without signal: preparing, ready, or ready but the scanner still loading.
import { t } from "../i18n.js";

/** What the service worker's "offline-state" reply means for the postman. */
export function offlineState({ shell, decoder }) {
  if (!shell) return "not-ready";
  if (decoder === "fetching") return "scanner-pending";
  if (decoder === "failed") return "scanner-missing";
  return "ready";
}

const MESSAGE = {
  preparing: "offline_preparing",
  "not-ready": "offline_not_ready",
  "scanner-pending": "offline_scanner_pending",
  "scanner-missing": "offline_scanner_missing",
  ready: "offline_ready",
};

export class OfflineReady {
  constructor(root) {
    this.root = root;
  }

  /** Show `state` (a key of MESSAGE); "unsupported" (no service worker) hides the line. */
  render(state) {
    this.root.dataset.state = state;
    this.root.hidden = !(state in MESSAGE);
    this.root.className = `offline-ready offline-${state === "ready" ? "ok" : "wait"}`;
    this.root.textContent = state in MESSAGE ? t(MESSAGE[state]) : "";
  }
}
