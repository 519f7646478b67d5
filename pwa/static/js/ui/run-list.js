// The run: progress, search, scanning an envelope, and the stops in order.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { matchesQuery } from "../format.js";
import { allStops, progress, stopStatus } from "../run-state.js";
import { callLink, directionsLink, rejectedNote, statusBadge, stopFacts } from "./stop-card.js";

export class RunList {
  constructor(root, { onOpen, onScan, onTyped, onRetry = null, onDismiss = null }) {
    this.root = root;
    this.query = "";
    this.onOpenStop = onOpen;
    this.rejectedActions = { onRetry, onDismiss };
    this.title = h("h1", { testid: "run-title" }, t("run_title"));
    this.progressBox = h("p", { class: "progress", testid: "progress", "aria-live": "polite" });
    this.message = h("p", { class: "notice", testid: "scan-message", role: "alert", hidden: true });
    this.codeInput = h("input", { id: "code-input", testid: "code-input", inputmode: "text", autocomplete: "off",
      autocapitalize: "characters", spellcheck: "false", placeholder: "HC 1234 5678 5 VN" });
    this.search = h("input", { id: "search", type: "search", testid: "search", autocomplete: "off",
      oninput: () => { this.query = this.search.value; this.renderList(); } });
    this.list = h("ol", { class: "stops", testid: "stops" });
    this.empty = h("p", { class: "card empty", testid: "run-empty", hidden: true });
    fill(root,
      this.title,
      this.progressBox,
      h("div", { class: "card scanbox" },
        h("button", { class: "btn btn-primary btn-block btn-huge", type: "button", testid: "scan-envelope", onclick: onScan }, t("scan_envelope")),
        h("form", { class: "inline-form", testid: "code-form", onsubmit: (e) => { e.preventDefault(); onTyped(this.codeInput.value); } },
          h("label", { for: "code-input" }, t("type_code")),
          h("div", { class: "row" }, this.codeInput, h("button", { class: "btn", type: "submit", testid: "code-submit" }, t("open")))),
        this.message),
      h("div", { class: "searchbox" }, h("label", { for: "search" }, t("search_label")), this.search),
      this.empty,
      this.list,
    );
  }

  /** Show the outcome of a scan or a typed code ("" hides it). */
  say(text, tone = "bad") {
    this.message.hidden = !text;
    this.message.textContent = text;
    this.message.className = `notice notice-${tone}`;
  }

  render(runData, entries, { dateLabel = "" } = {}) {
    this.runData = runData;
    this.entries = entries;
    this.title.textContent = dateLabel ? t("run_title_day", { day: dateLabel }) : t("run_title");
    const p = progress(runData, entries);
    fill(this.progressBox,
      h("span", { class: "pill pill-ok", testid: "count-delivered" }, `${t("delivered")}: ${p.delivered}`),
      h("span", { class: "pill pill-bad", testid: "count-failed" }, `${t("failed")}: ${p.failed}`),
      h("span", { class: "pill", testid: "count-left" }, `${t("left")}: ${p.left}`));
    this.renderList();
  }

  renderList() {
    const stops = allStops(this.runData);
    const shown = stops.filter((s) =>
      matchesQuery(this.query, [s.recipient.name, s.envelope_code, s.dossier_code, s.address?.full ?? ""]));
    this.empty.hidden = shown.length > 0;
    this.empty.textContent = stops.length ? t("no_match") : t("no_run");
    fill(this.list, shown.map((stop) => this.item(stop)));
  }

  item(stop) {
    const status = stopStatus(stop, this.entries);
    return h("li", { class: `stop stop-${status.status}`, testid: `stop-${stop.envelope_code}`, "data-stop-id": stop.stop_id },
      h("div", { class: "stop-head" },
        h("strong", { class: "stop-name" }, `${stop.position}. ${stop.recipient.name}`),
        statusBadge(status)),
      stopFacts(stop, status),
      rejectedNote(status.rejected, this.rejectedActions),
      h("div", { class: "actions" },
        callLink(stop),
        directionsLink(stop),
        h("button", { class: "btn btn-big", type: "button", testid: "stop-open", onclick: () => this.onOpenStop(stop) }, t("details"))),
    );
  }
}
