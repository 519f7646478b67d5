// The facts of one stop, as shown in the list and on the stop's screen.
import { h } from "./dom.js";
import { t } from "../i18n.js";
import { formatVnd } from "../format.js";
import { describeRefusal } from "../refusals.js";
import { afterFailure } from "../run-state.js";

const IS_ANDROID = /Android/i.test(navigator.userAgent);

/** A link that opens the phone's map app at the stop (geo: on Android, a maps URL elsewhere). */
export function directionsLink(stop) {
  const loc = stop.location;
  if (!loc) return null;
  const ll = `${loc.lat},${loc.lon}`;
  const href = IS_ANDROID
    ? `geo:${ll}?q=${ll}(${encodeURIComponent(stop.recipient.name)})`
    : `https://www.google.com/maps/search/?api=1&query=${ll}`;
  return h("a", { class: "btn btn-big", href, testid: "stop-directions", rel: "noopener", target: IS_ANDROID ? null : "_blank" }, t("directions"));
}

export function callLink(stop) {
  const phone = stop.recipient.phone;
  if (!phone) return null;
  return h("a", { class: "btn btn-big btn-call", href: `tel:${phone}`, testid: "stop-call", "aria-label": `${t("call")} ${phone}` },
    `☎ ${t("call")}`);
}

const BADGE_KEYS = {
  open: ["status_open", "status_open"],
  refused: ["status_refused", "status_refused"],
  delivered: ["status_delivered", "status_delivered_pending"],
  failed: ["status_failed", "status_failed_pending"],
};

/** A badge for the stop's status, marking attempts still waiting to sync. */
export function statusBadge(status) {
  const label = t(BADGE_KEYS[status.status][status.pending ? 1 : 0]);
  return h("span", { class: `badge badge-${status.status}${status.pending ? " badge-pending" : ""}`, testid: "stop-status", "data-status": status.status, "data-pending": String(status.pending) }, label);
}

/** What happens next to a failed stop's envelope, in words (null when the stop has not failed). */
export function nextAfterFailureText(stop, status, settings) {
  const after = afterFailure(stop, status, settings);
  if (!after) return null;
  if (after.next === "again") return after.attemptsLeft == null ? t("next_again_unknown") : t("next_again", { left: after.attemptsLeft });
  return t(`next_${after.next}`, { max: after.max });
}

/**
 * The rejected attempt's reason in words, kept in sight, with "send again" (the cause was fixed
 * on the server) and "seen, dismiss" (kept on the phone, no longer shown or sent). The error's
 * code stays out of sight, in a small "details for support".
 */
export function rejectedNote(entry, { onRetry = null, onDismiss = null } = {}) {
  if (!entry) return null;
  const id = entry.attempt_id;
  const act = (handler) => (event) => {
    const button = event.currentTarget;
    button.disabled = true; // one tap is enough; the note is redrawn after it
    Promise.resolve(handler(id)).catch((err) => {
      console.warn("rejected attempt", err);
      button.disabled = false;
    });
  };
  const error = entry.error ?? {};
  const words = describeRefusal(error);
  const support = [error.status, error.code].filter(Boolean).join(" · ");
  return h("div", { class: "notice notice-bad", testid: "stop-rejected", role: "note", "data-attempt-id": id },
    h("p", { class: "rejected-reason", testid: "rejected-reason" }, h("strong", {}, t("rejected_title")), " ", words.text),
    words.fields.length
      ? h("p", { class: "rejected-fields", testid: "rejected-fields" }, t("rejected_fields", { fields: words.fields.join(", ") }))
      : null,
    h("details", { class: "support", testid: "rejected-support" },
      h("summary", {}, t("rejected_support")),
      h("code", {}, support),
      error.message ? h("span", { class: "support-message" }, error.message) : null,
      error.fields && Object.keys(error.fields).length ? h("code", {}, JSON.stringify(error.fields)) : null),
    onRetry || onDismiss
      ? h("div", { class: "actions" },
          onRetry ? h("button", { class: "btn btn-big", type: "button", testid: "rejected-retry", onclick: act(onRetry) }, t("rejected_retry")) : null,
          onDismiss ? h("button", { class: "btn btn-big", type: "button", testid: "rejected-dismiss", onclick: act(onDismiss) }, t("rejected_dismiss")) : null)
      : null);
}

/**
 * Address, result type and code, then what the stop still needs (fees to collect, who may take
 * it, the attempt's number) or, once finished, what happened (collected, the failure and what
 * comes next). runData: for the policy's settings and the failure reasons' words; inDoor: the
 * card sits under its door's heading, which shows the address and the phone.
 */
export function stopFacts(stop, status, runData = null, { inDoor = false } = {}) {
  const settings = runData?.settings ?? {};
  const max = settings.max_home_attempts;
  // In a door of several envelopes the door's heading shows the address and the phone once.
  const lines = inDoor
    ? [h("div", { class: "muted" }, h("code", { testid: "stop-code" }, stop.envelope_code))]
    : [
        h("div", { class: "addr", testid: "stop-address" }, stop.address?.full ?? ""),
        h("div", { class: "muted" }, `${stop.result_type_label} · `, h("code", { testid: "stop-code" }, stop.envelope_code)),
        stop.recipient.phone ? h("div", { class: "muted" }, `☎ ${stop.recipient.phone}`) : null,
      ];
  if (status.status === "delivered") {
    if (status.collectedVnd > 0) {
      lines.push(h("div", { testid: "stop-fees", "data-kind": "collected" }, `${t("collected")}: `, h("strong", {}, formatVnd(status.collectedVnd))));
    }
    return lines;
  }
  if (status.status === "failed") {
    const reason = (runData?.reasons ?? []).find((r) => r.code === status.reasonCode)?.label;
    const failed = max ? t("failed_n_of", { n: status.attemptsMade, max }) : t("failed_n", { n: status.attemptsMade });
    lines.push(
      h("div", { class: "failure", testid: "stop-failure" }, reason ? `${failed}: ${reason}` : failed),
      h("div", { class: "next-step", testid: "stop-next" }, nextAfterFailureText(stop, status, settings)));
    return lines;
  }
  if (!status.canAttempt) return lines; // refused after the server closed the stop: only a decision is left
  if (stop.fees_due_vnd) {
    lines.push(h("div", { testid: "stop-fees", "data-kind": "due" }, `${t("to_collect")}: `, h("strong", {}, formatVnd(stop.fees_due_vnd))));
  }
  lines.push(
    h("div", { class: "facts" },
      h("span", { class: `tag ${stop.representative_allowed ? "" : "tag-strict"}`, testid: "stop-representative" },
        stop.representative_allowed ? t("representative_allowed") : t("holder_only")),
      h("span", { class: "tag", testid: "stop-attempt" },
        max ? t("attempt_n_of", { n: status.attemptNumber, max }) : t("attempt_n", { n: status.attemptNumber })),
    ),
  );
  return lines;
}
