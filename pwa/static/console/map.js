// A Leaflet map of points (stops, postmen, a proof's position and its address), drawn with
// circle markers (no marker images to serve). Tiles only when the office configured a server:
// without them the points still show where they are relative to each other.

const COLOURS = {
  delivered: "#0a5c2b",
  collected: "#0a5c2b",
  attempt_failed: "#a11a1a",
  held_at_office: "#a11a1a",
  out_for_delivery: "#0b4f8a",
  postman: "#d97706",
  attempt: "#d97706",
  address: "#0b4f8a",
};

/** A map in `element`, or null when Leaflet is not there (the page stays a list). */
export function createMap(element, { tiles = "", attribution = "" } = {}) {
  const L = globalThis.L;
  if (!element || !L) return null;
  const map = L.map(element, { zoomSnap: 0.5 });
  if (tiles) L.tileLayer(tiles, { attribution, maxZoom: 19 }).addTo(map);
  const layer = L.layerGroup().addTo(map);
  let fitted = false;
  return {
    /** Replace the points: [{lat, lon, kind, label, radius?}]; fit the view the first time. */
    show(points) {
      layer.clearLayers();
      const placed = points.filter((p) => Number.isFinite(p.lat) && Number.isFinite(p.lon));
      for (const p of placed) {
        const colour = COLOURS[p.kind] ?? "#555";
        const marker = L.circleMarker([p.lat, p.lon], {
          radius: p.radius ?? 7,
          color: colour,
          fillColor: colour,
          fillOpacity: 0.7,
          weight: 2,
        });
        if (p.label) marker.bindTooltip(p.label);
        marker.addTo(layer);
        if (p.accuracy_m) {
          L.circle([p.lat, p.lon], { radius: p.accuracy_m, color: colour, weight: 1, fillOpacity: 0.08 }).addTo(layer);
        }
      }
      if (!fitted && placed.length) {
        map.fitBounds(L.latLngBounds(placed.map((p) => [p.lat, p.lon])).pad(0.2), { maxZoom: 17 });
        fitted = true;
      } else if (!fitted) {
        map.setView([21.85, 106.76], 12);
      }
    },
  };
}
