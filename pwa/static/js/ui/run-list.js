// The run: progress, search, scanning an envelope, the doors left in route order (the envelopes
// of one door together under one heading), which the postman moves up and down by hand, and the
// finished doors apart, folded away until asked for (a whole run unfolded is a very long scroll).
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { matchesQuery } from "../format.js";
import { progress } from "../run-state.js";
import { groupDoors } from "../doors.js";
import { callLink, directionsLink, rejectedNote, statusBadge, stopFacts } from "./stop-card.js";

export class RunList {
  constructor(root, { onOpen, onScan, onTyped, onRetry = null, onDismiss = null, onMove = null }) {
    this.root = root;
    this.query = "";
    this.onOpenStop = onOpen;
    this.onMove = onMove;
    this.orderNote = h("p", { class: "notice notice-warn", testid: "order-pending", role: "status", hidden: true },
      t("order_pending"));
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
      this.orderNote,
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

  render(runData, entries, { dateLabel = "", orderPending = false } = {}) {
    this.runData = runData;
    this.entries = entries;
    this.orderNote.hidden = !orderPending;
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
   * Redraw only the doors of these stops (their attempts were just acknowledged) and the counts,
   * not the whole list: while a sync goes through hundreds of attempts the postman keeps
   * scrolling and tapping the other cards. Falls back to a whole render when a door changed group.
   */
  refreshStops(runData, entries, stopIds) {
    this.runData = runData;
    this.entries = entries;
    this.renderCounts();
    const groups = groupDoors(runData, entries);
    const searching = Boolean(this.query.trim());
    const lists = [[groups.left, this.list, this.finishedList], [groups.finished, this.finishedList, this.list]];
    for (const [doors, list, other] of lists) {
      for (const [i, door] of doors.entries()) {
        if (!door.items.some(({ stop }) => stopIds.has(stop.stop_id))) continue;
        const selector = `:scope > li[data-door="${CSS.escape(door.key)}"]`;
        const shown = list.querySelector(selector);
        const moves = list === this.list && !searching ? this.moves(doors, i) : null;
        if (shown) shown.replaceWith(this.doorItem(door, moves));
        else if (other.querySelector(selector)) return this.renderList();
      }
    }
  }

  renderList() {
    const { left, finished, elsewhere } = groupDoors(this.runData, this.entries);
    // Counted in the sync bar, so shown somewhere the postman can decide on them.
    this.elsewhere.hidden = elsewhere.length === 0;
    fill(this.elsewhere, h("h2", {}, t("refused_elsewhere")),
      elsewhere.flatMap((entry) => [h("code", {}, entry.envelope_code), rejectedNote(entry, this.rejectedActions)]));
    const matches = (door) => door.items.some(({ stop }) =>
      matchesQuery(this.query, [stop.recipient.name, stop.envelope_code, stop.dossier_code, stop.address?.full ?? ""]));
    const searching = Boolean(this.query.trim());
    const leftShown = left.filter(matches);
    const finishedShown = finished.filter(matches);
    const total = left.length + finished.length;
    this.empty.hidden = leftShown.length > 0 || (searching && finishedShown.length > 0);
    this.empty.textContent = !total ? t("no_run") : searching ? t("no_match") : t("none_left");
    // Moving a door is for the whole list: not while a search shows only some of it.
    fill(this.list, leftShown.map((door, i) => this.doorItem(door, searching ? null : this.moves(leftShown, i))));
    fill(this.finishedList, finishedShown.map((door) => this.doorItem(door, null)));
    const envelopes = finishedShown.reduce((n, door) => n + door.items.length, 0);
    this.finishedTitle.textContent = t("finished_n", { n: envelopes });
    this.finished.hidden = finishedShown.length === 0;
    // A search looks through the finished stops too, unfolding them while it finds some.
    this.finished.open = searching ? finishedShown.length > 0 : this.showFinished;
  }

  /** Whether the i-th door of `doors` may go up or down: among the doors of its run in that list. */
  moves(doors, i) {
    if (!this.onMove) return null;
    const door = doors[i];
    const sameRun = (other) => other && other.runId === door.runId;
    return { up: sameRun(doors[i - 1]), down: sameRun(doors[i + 1]) };
  }

  /** Big "up" and "down" buttons for one thumb (at the right, where it rests). */
  moveButtons(door, moves) {
    if (!moves || (!moves.up && !moves.down)) return null;
    const name = door.items[0].stop.recipient.name;
    const button = (step, enabled) => h("button", {
      class: "btn btn-big btn-move", type: "button", testid: step < 0 ? "door-up" : "door-down",
      disabled: !enabled, "aria-label": t(step < 0 ? "move_up_label" : "move_down_label", { name }),
      onclick: () => this.onMove(door.runId, door.key, step),
    }, t(step < 0 ? "move_up" : "move_down"));
    return h("div", { class: "door-moves", role: "group", "aria-label": t("move_group") },
      button(-1, moves.up), button(1, moves.down));
  }

  /** One door: an envelope's card as before, or several cards under the door's heading. */
  doorItem(door, moves) {
    const first = door.items[0].stop;
    if (door.items.length === 1) {
      const li = this.item(door.items[0], door.number, this.moveButtons(door, moves));
      li.dataset.door = door.key;
      return li;
    }
    return h("li", { class: `door door-multi${door.finished ? " door-finished" : ""}`, testid: `door-${door.key}`,
      "data-door": door.key },
      h("div", { class: "door-head" },
        h("strong", { class: "door-name", testid: "door-name" }, `${door.number}. ${first.recipient.name}`),
        h("span", { class: "badge badge-door", testid: "door-count", "data-count": door.items.length },
          t("door_envelopes", { n: door.items.length }))),
      h("div", { class: "addr", testid: "door-address" }, first.address?.full ?? ""),
      first.recipient.phone ? h("div", { class: "muted" }, `☎ ${first.recipient.phone}`) : null,
      this.moveButtons(door, moves),
      h("div", { class: "actions" }, callLink(first), directionsLink(first)),
      h("ol", { class: "door-stops", testid: "door-stops" },
        door.items.map((item) => this.item(item, null, null, { inDoor: true }))),
    );
  }

  /** An envelope's card: numbered with its door alone, or under its door's heading. */
  item({ stop, status }, number, moveButtons = null, { inDoor = false } = {}) {
    const title = inDoor
      ? h("strong", { class: "envelope-name" }, stop.result_type_label)
      : h("strong", { class: "stop-name" }, `${number}. ${stop.recipient.name}`);
    return h("li", { class: `stop stop-${status.status}`, testid: `stop-${stop.envelope_code}`, "data-stop-id": stop.stop_id },
      h("div", { class: "stop-head" }, title, statusBadge(status)),
      stopFacts(stop, status, this.runData, { inDoor }),
      rejectedNote(status.rejected, this.rejectedActions),
      moveButtons,
      h("div", { class: "actions" },
        inDoor ? null : callLink(stop),
        inDoor ? null : directionsLink(stop),
        h("button", { class: "btn btn-big", type: "button", testid: "stop-open", onclick: () => this.onOpenStop(stop) }, t("details"))),
    );
  }
}
