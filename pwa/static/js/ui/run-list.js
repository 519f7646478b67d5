// The run: progress, search, scanning an envelope, the stops left in route order, and the
// finished ones apart, folded away until asked for (a whole run unfolded is a very long scroll).
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { matchesQuery } from "../format.js";
import { allStops, groupStops, progress, stopStatus } from "../run-state.js";
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
    this.elsewhere = h("section", { class: "card", testid: "refused-elsewhere", hidden: true });
    this.list = h("ol", { class: "stops", testid: "stops" });
    this.empty = h("p", { class: "card empty", testid: "run-empty", hidden: true });
    // Kept across renders, so the postman's choice to unfold it holds while the outbox changes.
    this.showFinished = false;
    this.finishedList = h("ol", { class: "stops", testid: "stops-finished" });
    // Only the postman's own click (or Enter on it) decides whether the finished stops stay
    // unfolded: a "toggle" event also follows each search's unfolding, late, when the search
    // may already be cleared. The click comes before the browser flips `open`.
    this.finishedTitle = h("summary", { class: "finished-title", testid: "finished-toggle",
      onclick: () => { if (!this.query.trim()) this.showFinished = !this.finished.open; } });
    this.finished = h("details", { class: "finished", testid: "finished" },
      this.finishedTitle, this.finishedList);
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
      this.elsewhere,
      this.empty,
      this.list,
      this.finished,
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
    this.renderCounts();
    this.renderList();
  }

  renderCounts() {
    const p = progress(this.runData, this.entries);
    fill(this.progressBox,
      h("span", { class: "pill pill-ok", testid: "count-delivered" }, `${t("delivered")}: ${p.delivered}`),
      h("span", { class: "pill pill-bad", testid: "count-failed" }, `${t("failed")}: ${p.failed}`),
      h("span", { class: "pill", testid: "count-left" }, `${t("left")}: ${p.left}`));
  }

  /**
   * Redraw only the cards of these stops (their attempts were just acknowledged) and the counts,
   * not the whole list: while a sync goes through hundreds of attempts the postman keeps
   * scrolling and tapping the other cards. Falls back to a whole render when a stop changed group.
   */
  refreshStops(runData, entries, stopIds) {
    this.runData = runData;
    this.entries = entries;
    this.renderCounts();
    for (const stop of allStops(runData)) {
      if (!stopIds.has(stop.stop_id)) continue;
      const status = stopStatus(stop, entries);
      const list = status.finished ? this.finishedList : this.list;
      const other = status.finished ? this.list : this.finishedList;
      const card = list.querySelector(`:scope > li[data-stop-id="${stop.stop_id}"]`);
      if (card) card.replaceWith(this.item({ stop, status }));
      else if (other.querySelector(`:scope > li[data-stop-id="${stop.stop_id}"]`)) return this.renderList();
    }
  }

  renderList() {
    const { left, finished, elsewhere } = groupStops(this.runData, this.entries);
    // Counted in the sync bar, so shown somewhere the postman can decide on them.
    this.elsewhere.hidden = elsewhere.length === 0;
    fill(this.elsewhere, h("h2", {}, t("refused_elsewhere")),
      elsewhere.flatMap((entry) => [h("code", {}, entry.envelope_code), rejectedNote(entry, this.rejectedActions)]));
    const matches = ({ stop }) =>
      matchesQuery(this.query, [stop.recipient.name, stop.envelope_code, stop.dossier_code, stop.address?.full ?? ""]);
    const searching = Boolean(this.query.trim());
    const leftShown = left.filter(matches);
    const finishedShown = finished.filter(matches);
    const total = left.length + finished.length;
    this.empty.hidden = leftShown.length > 0 || (searching && finishedShown.length > 0);
    this.empty.textContent = !total ? t("no_run") : searching ? t("no_match") : t("none_left");
    fill(this.list, leftShown.map((x) => this.item(x)));
    fill(this.finishedList, finishedShown.map((x) => this.item(x)));
    this.finishedTitle.textContent = t("finished_n", { n: finishedShown.length });
    this.finished.hidden = finishedShown.length === 0;
    // A search looks through the finished stops too, unfolding them while it finds some.
    this.finished.open = searching ? finishedShown.length > 0 : this.showFinished;
  }

  item({ stop, status }) {
    return h("li", { class: `stop stop-${status.status}`, testid: `stop-${stop.envelope_code}`, "data-stop-id": stop.stop_id },
      h("div", { class: "stop-head" },
        h("strong", { class: "stop-name" }, `${stop.position}. ${stop.recipient.name}`),
        statusBadge(status)),
      stopFacts(stop, status, this.runData),
      rejectedNote(status.rejected, this.rejectedActions),
      h("div", { class: "actions" },
        callLink(stop),
        directionsLink(stop),
        h("button", { class: "btn btn-big", type: "button", testid: "stop-open", onclick: () => this.onOpenStop(stop) }, t("details"))),
    );
  }
}
