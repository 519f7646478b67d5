// Copy the front-end libraries the app serves from node_modules into pwa/static/vendor/.
// Run by `make` after `npm ci`; the vendor folder is generated and never committed.
import { cpSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(root, "pwa", "static", "vendor");

// [source under node_modules, destination under vendor]
const FILES = [
  ["barcode-detector/dist/iife/ponyfill.js", "barcode-detector.js"],
  ["zxing-wasm/dist/reader/zxing_reader.wasm", "zxing_reader.wasm"],
  ["signature_pad/dist/signature_pad.js", "signature_pad.js"],
  ["idb/build/index.js", "idb/index.js"],
  ["leaflet/dist/leaflet-src.esm.js", "leaflet/leaflet-src.esm.js"],
  ["leaflet/dist/leaflet.js", "leaflet/leaflet.js"],
  ["leaflet/dist/leaflet.css", "leaflet/leaflet.css"],
  // The agency API's documentation page (/api/v1/docs).
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"],
];

rmSync(target, { recursive: true, force: true });
for (const [source, dest] of FILES) {
  const from = join(root, "node_modules", source);
  if (!existsSync(from)) {
    console.error(`vendor: ${source} is missing; run npm ci`);
    process.exit(1);
  }
  const to = join(target, dest);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to);
}
console.log(`vendor: ${FILES.length} files copied to pwa/static/vendor/`);
