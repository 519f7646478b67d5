// One stop: its facts, identifying the envelope (scan or typed code), deliver or record a failure;
// for a failed stop with home attempts left, "Phát lại": the same again, as the next attempt.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { stopStatus } from "../run-state.js";
import { handoverStops } from "../doors.js";
import { callLink, directionsLink, nextAfterFailureText, rejectedNote, statusBadge, stopFacts } from "./stop-card.js";

export class StopView {
  /** runData(): the run being shown, for the policy's settings and the reasons' words. */
  constructor(root, { runData, onBack, onScan, onTyped, onDeliver, onFail, onTryAgain, onRetry = null, onDismiss = null }) {
    this.root = root;
    this.runData = runData;
    this.handlers = { onBack, onScan, onTyped, onDeliver, onFail, onTryAgain };
    this.rejectedActions = { onRetry, onDismiss };
  }

  /**
   * scan: null or {method: "qr"|"typed", payload}; message: a scan's outcome to show;
   * retrying: the postman chose "Phát lại" on this failed stop (honoured while it may be).
   */
  render(stop, entries, scan, message = null, { retrying = false } = {}) {
    const status = stopStatus(stop, entries);
    const { onBack, onScan, onTyped, onDeliver, onFail, onTryAgain } = this.handlers;
    const codeInput = h("input", { id: "stop-code-input", testid: "stop-code-input", autocomplete: "off",
      autocapitalize: "characters", spellcheck: "false", placeholder: "HC 1234 5678 5 VN" });
    const runData = this.runData();
    const again = retrying && status.canRetry;
    const done = !status.canAttempt && !again;
    // The door's other envelopes still open: handed over with this one, on one screen.
    const others = done ? 0 : handoverStops(runData, stop, entries).length - 1;
    const identified = scan
      ? h("p", { class: "notice notice-ok", testid: "envelope-identified", role: "status" },
          scan.method === "qr" ? t("envelope_scanned") : t("envelope_typed"))
      : h("div", { class: "card scanbox" },
          h("p", { class: "muted" }, t("identify_first")),
          h("button", { class: "btn btn-primary btn-block btn-huge", type: "button", testid: "stop-scan", onclick: onScan }, t("scan_this_envelope")),
          h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); onTyped(codeInput.value); } },
            h("label", { for: "stop-code-input" }, t("type_code")),
            h("div", { class: "row" }, codeInput, h("button", { class: "btn", type: "submit", testid: "stop-code-submit" }, t("confirm_code")))));
    fill(this.root,
      h("button", { class: "btn btn-quiet back", type: "button", testid: "back", onclick: onBack }, `← ${t("back_to_run")}`),
      h("h2", { class: "screen-title", testid: "stop-title" }, stop.recipient.name),
      h("div", { class: "card" },
        h("div", { class: "stop-head" }, h("span", { class: "muted" }, stop.procedure_name ?? ""), statusBadge(status)),
        stopFacts(stop, status, runData),
        rejectedNote(status.rejected, this.rejectedActions),
        h("div", { class: "actions" }, callLink(stop), directionsLink(stop))),
      message ? h("p", { class: `notice notice-${message.tone}`, role: "alert", testid: "stop-message" }, message.text) : null,
      again ? h("p", { class: "notice notice-warn", testid: "retrying", role: "status" },
        t("retrying", { n: status.attemptNumber, max: status.attemptsMade + status.attemptsLeft })) : null,
      others > 0 ? h("p", { class: "notice", testid: "door-others", role: "status" }, t("door_others", { n: others })) : null,
      done ? doneNotice(stop, status, runData) : identified,
      done && status.canRetry ? tryAgain(status, onTryAgain) : null,
      h("div", { class: "actions actions-main" },
        h("button", { class: "btn btn-primary btn-huge", type: "button", testid: "deliver", disabled: !scan || done, onclick: onDeliver }, `✔ ${t("deliver")}`),
        h("button", { class: "btn btn-danger btn-huge", type: "button", testid: "fail", disabled: !scan || done, onclick: onFail }, `✖ ${t("fail")}`)),
    );
  }
}

/**
 * Why nothing is left to do at this door: delivered (good news), or failed, in a warning's tone,
 * with what happens next under the policy. A refused stop's note says it already.
 */
/**
 * "Phát lại": the citizen called back or came home, and a home attempt is left. A deliberate,
 * large action: it opens identification again, and the attempt is sent as the next one.
 */
function tryAgain(status, onTryAgain) {
  const max = status.attemptsMade + status.attemptsLeft;
  return h("div", { class: "card try-again" },
    h("p", { class: "muted" }, t("try_again_hint", { n: status.attemptNumber, max })),
    h("button", { class: "btn btn-primary btn-huge btn-block", type: "button", testid: "try-again", onclick: onTryAgain },
      `↻ ${t("try_again")}`));
}

function doneNotice(stop, status, runData) {
  if (status.status === "delivered") return h("p", { class: "notice notice-ok", testid: "stop-done", "data-tone": "ok" }, t("already_delivered"));
  if (status.status !== "failed") return null;
  return h("p", { class: "notice notice-warn", testid: "stop-done", "data-tone": "warn" },
    t("already_failed"), " ", nextAfterFailureText(stop, status, runData?.settings));
}
