// Watch live: poll the runs' JSON every few seconds and redraw the table, the stops and the
// map; when an answer does not come, say plainly since when the page has not been updated.
import { createMap } from "./map.js";
import { ago } from "./relative-time.js";

const root = document.querySelector("[data-live]");
const status = document.getElementById("live-status");
const period = Math.max(3, Number(root.dataset.pollSeconds) || 10) * 1000;
const states = JSON.parse(root.dataset.states || "{}");
const clock = new Intl.DateTimeFormat(document.documentElement.lang || "vi", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZone: root.dataset.timezone || undefined,
});
const shortClock = new Intl.DateTimeFormat(document.documentElement.lang || "vi", {
  hour: "2-digit",
  minute: "2-digit",
  timeZone: root.dataset.timezone || undefined,
});
const relative = new Intl.RelativeTimeFormat(document.documentElement.lang || "vi", { numeric: "always" });
let lastUpdate = new Date();
let map = null;

function text(template, time) {
  return template.replace("{time}", time);
}

function cell(row, field, value) {
  const td = document.createElement("td");
  if (field) td.dataset.field = field;
  td.textContent = value;
  row.append(td);
}

function positionText(position) {
  if (!position) return root.dataset.tNoPosition;
  const when = position.at ? ` · ${shortClock.format(new Date(position.at))}` : "";
  return `${position.lat.toFixed(5)}, ${position.lon.toFixed(5)}${when}`;
}

function seenCell(row, run, serverNow) {
  const td = document.createElement("td");
  td.dataset.field = "last_seen";
  const when = document.createElement("span");
  when.dataset.part = "ago";
  if (run.last_seen) {
    const then = new Date(run.last_seen);
    when.textContent = ago(then, serverNow, relative);
    when.title = shortClock.format(then);
  } else {
    when.textContent = root.dataset.tNeverSeen;
  }
  td.append(when);
  if (run.unseen) {
    const warning = document.createElement("strong");
    warning.className = "unseen-warning";
    warning.dataset.part = "unseen";
    warning.setAttribute("role", "alert");
    warning.textContent = root.dataset.tUnseen;
    td.append(" ", warning);
  }
  row.classList.toggle("unseen", Boolean(run.unseen));
  row.append(td);
}

function renderRuns(runs, serverNow) {
  const body = document.getElementById("live-runs");
  const rows = runs.map((run) => {
    const row = document.createElement("tr");
    row.dataset.run = run.id;
    cell(row, null, run.postman.name);
    cell(row, "delivered", run.progress.delivered);
    cell(row, "failed", run.progress.failed);
    cell(row, "left", run.progress.left);
    cell(row, "total", run.progress.total);
    cell(row, "last_sync", run.last_sync ? shortClock.format(new Date(run.last_sync)) : root.dataset.tNever);
    seenCell(row, run, serverNow);
    cell(row, "last_position", positionText(run.last_position));
    return row;
  });
  if (rows.length) body.replaceChildren(...rows);
  for (const run of runs) {
    const list = document.querySelector(`[data-run-stops="${run.id}"]`);
    if (!list) continue;
    for (const stop of run.stops) {
      const item = list.querySelector(`[data-code="${stop.code}"] [data-field="state"]`);
      if (item) item.textContent = states[stop.state] ?? stop.state;
    }
  }
}

function renderMap(runs) {
  if (!map) return;
  const points = [];
  for (const run of runs) {
    for (const stop of run.stops) {
      points.push({ lat: stop.lat, lon: stop.lon, kind: stop.state, label: `${stop.position}. ${stop.code} · ${states[stop.state] ?? stop.state}` });
    }
    if (run.last_position) {
      points.push({ ...run.last_position, kind: "postman", radius: 10, label: run.postman.name });
    }
  }
  map.show(points);
}

function showFresh() {
  lastUpdate = new Date();
  status.classList.remove("stale");
  status.dataset.state = "live";
  status.textContent = text(root.dataset.tUpdated, clock.format(lastUpdate));
}

function showStale() {
  status.classList.add("stale");
  status.dataset.state = "stale";
  status.textContent = text(root.dataset.tStale, shortClock.format(lastUpdate));
}

async function poll() {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), period);
  try {
    const response = await fetch(root.dataset.url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
      signal: abort.signal,
    });
    const type = response.headers.get("content-type") || "";
    if (!response.ok || !type.includes("application/json")) throw new Error(`status ${response.status}`);
    const data = await response.json();
    renderRuns(data.runs, new Date(data.server_time));
    renderMap(data.runs);
    showFresh();
  } catch {
    showStale();
  } finally {
    clearTimeout(timer);
    setTimeout(poll, period);
  }
}

/** An administrator's office picker shows the office chosen as soon as it is chosen. */
function autosubmit() {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
}

function start() {
  autosubmit();
  map = createMap(document.getElementById("live-map"), {
    tiles: root.dataset.tiles,
    attribution: root.dataset.attribution,
  });
  poll();
}

// Leaflet's classic script is deferred like this module: both have run by DOMContentLoaded.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
