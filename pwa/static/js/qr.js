// A QR decoder: the native BarcodeDetector where the phone has one (Android Chrome), else the
// zxing-wasm polyfill, whose wasm is served (and cached) by Trao, never fetched from a CDN.

const POLYFILL_URL = "/static/vendor/barcode-detector.js";
const WASM_DIR = "/static/vendor/";

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(script);
  });
}

/** Whether the phone has a native BarcodeDetector that reads QR codes (Android Chrome does): then
 * the zxing decoder is never needed, neither downloaded nor cached. */
export async function hasNativeQrDetector() {
  if (!("BarcodeDetector" in globalThis)) return false;
  try {
    const formats = await globalThis.BarcodeDetector.getSupportedFormats();
    return formats.includes("qr_code");
  } catch {
    return false;
  }
}

async function nativeDetector() {
  return (await hasNativeQrDetector()) ? new globalThis.BarcodeDetector({ formats: ["qr_code"] }) : null;
}

async function polyfillDetector() {
  if (!globalThis.BarcodeDetectionAPI) await loadScript(POLYFILL_URL);
  const api = globalThis.BarcodeDetectionAPI;
  await api.prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? WASM_DIR + path : prefix + path) },
    fireImmediately: true,
  });
  return new api.BarcodeDetector({ formats: ["qr_code"] });
}

let detector = null;

/** A ready BarcodeDetector for QR codes (loaded once). */
export function qrDetector() {
  detector ??= (async () => (await nativeDetector()) ?? (await polyfillDetector()))();
  detector.catch(() => {
    detector = null;
  });
  return detector;
}
