// Planning runs: the pool and the runs on a map (tiles only if the office set a tile server),
// "choose all", the counter's scanner sending each code without reloading, and stops dragged
// into a new order. Without this script the page still works with its forms.
import * as L from "/static/vendor/leaflet/leaflet-src.esm.js";
import { beep } from "./beep.js";

const COLOURS = ["#c0392b", "#2874a6", "#1e8449", "#af601a", "#7d3c98", "#117a65"];

function drawMap() {
  const box = document.getElementById("plan-map");
  const data = JSON.parse(document.getElementById("plan-data")?.textContent || "null");
  if (!box || !data) return;
  const map = L.map(box, { zoomControl: true, attributionControl: Boolean(data.tiles) });
  if (data.tiles) L.tileLayer(data.tiles, { maxZoom: 19 }).addTo(map);
  const bounds = [];
  if (data.office) {
    L.circleMarker(data.office, { radius: 9, color: "#000", fillColor: "#ffd400", fillOpacity: 1 })
      .bindTooltip(box.getAttribute("aria-label") ?? "").addTo(map);
    bounds.push(data.office);
  }
  for (const point of data.pool) {
    L.circleMarker(point.at, { radius: 5, color: "#555", fillOpacity: 0.6 })
      .bindTooltip(`${point.code} · ${point.name}`).addTo(map);
    bounds.push(point.at);
  }
  data.runs.forEach((run, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const path = run.visits.map((v) => v.at);
    if (data.office) path.unshift(data.office), path.push(data.office);
    L.polyline(path, { color: colour, weight: 3 }).addTo(map);
    for (const v of run.visits) {
      L.circleMarker(v.at, { radius: 7, color: colour, fillOpacity: 0.9 })
        .bindTooltip(`${run.postman} · ${v.n} · ${v.name}`).addTo(map);
      bounds.push(v.at);
    }
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 16 });
  else map.setView([16, 106], 5);
  box.dataset.ready = "1";
}

function chooseAll() {
  const all = document.getElementById("pool-all");
  all?.addEventListener("change", () => {
    for (const box of document.querySelectorAll(".pool-pick")) box.checked = all.checked;
  });
}

function counterScanner() {
  const form = document.getElementById("scan-form");
  const input = document.getElementById("scan-code");
  const result = document.getElementById("scan-result");
  const list = document.getElementById("received-list");
  if (!form) return;
  const say = (text, ok) => {
    result.textContent = text;
    result.className = `scan-result ${ok ? "ok" : "bad"}`;
    result.dataset.outcome = ok ? "assigned" : "refused";
    result.hidden = false;
    beep(ok);
  };
  const send = async (body) => {
    try {
      const response = await fetch(form.action, {
        method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" },
      });
      const json = await response.json().catch(() => null);
      if (response.ok && json?.envelope) {
        const item = document.createElement("li");
        item.textContent = json.message;
        list.prepend(item);
        say(json.message, true);
      } else {
        say(json?.error?.message ?? form.dataset.networkError, false);
      }
    } catch {
      say(form.dataset.networkError, false);
    }
  };
  // A scanner may type the next code before the last answer came: scans go in turn.
  let queue = Promise.resolve();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    const body = new FormData(form);
    input.value = "";
    input.focus();
    queue = queue.then(() => send(body));
  });
}

/** Drag a stop to a new place; the new order is posted and the page reloaded. */
function dragToReorder() {
  const csrf = document.querySelector("input[name=csrf_token]")?.value ?? "";
  for (const list of document.querySelectorAll("ol.visits[data-reorder]")) {
    if (!list.dataset.reorder) continue;
    let dragged = null;
    list.addEventListener("dragstart", (event) => {
      dragged = event.target.closest("li.visit");
      dragged?.classList.add("dragging");
    });
    list.addEventListener("dragover", (event) => {
      event.preventDefault();
      const over = event.target.closest("li.visit");
      if (!dragged || !over || over === dragged) return;
      const after = event.clientY > over.getBoundingClientRect().top + over.offsetHeight / 2;
      over.parentNode.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("dragend", async () => {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      dragged = null;
      const body = new FormData();
      body.append("csrf_token", csrf);
      for (const item of list.querySelectorAll("li.visit")) body.append("visit", item.dataset.visit);
      await fetch(list.dataset.reorder, {
        method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" },
      }).catch(() => null);
      location.reload();
    });
  }
}

/** An administrator's office picker shows the office chosen as soon as it is chosen. */
function autosubmit() {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
}

autosubmit();
chooseAll();
counterScanner();
dragToReorder();
try {
  drawMap();
} catch (err) {
  console.error("map", err);
}
