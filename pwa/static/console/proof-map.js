// A proof's position beside the envelope's address, on a small map per attempt.
import { createMap } from "./map.js";

function start() {
  for (const element of document.querySelectorAll("[data-proof-map]")) {
    const attempt = JSON.parse(element.dataset.attempt);
    const address = JSON.parse(element.dataset.address);
    const map = createMap(element, { tiles: element.dataset.tiles, attribution: element.dataset.attribution });
    map?.show([
      { ...attempt, kind: "attempt" },
      { ...address, kind: "address" },
    ]);
  }
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
