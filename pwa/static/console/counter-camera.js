// The counter's camera (a tablet's, or a webcam): reads one QR code, as a USB scanner would type
// it. The decoder is the phone app's (native BarcodeDetector, else the zxing polyfill Trao
// serves). The camera is stopped as soon as a code is read or the clerk cancels.
import { qrDetector } from "/static/js/qr.js";

const SCAN_INTERVAL_MS = 120;

/** Open the camera panel and resolve with the first QR text read, or null when cancelled.
 *  Rejects when the camera cannot start (no camera, permission refused). */
export async function scanQr(panel, title) {
  const video = panel.querySelector("video");
  const status = panel.querySelector("[data-role=status]");
  const cancel = panel.querySelector("[data-testid=camera-cancel]");
  panel.querySelector("[data-role=title]").textContent = title;
  const detectorReady = qrDetector();
  detectorReady.catch(() => {});
  panel.hidden = false;
  status.textContent = panel.dataset.starting;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    video.srcObject = stream;
    await video.play();
  } catch (err) {
    panel.hidden = true;
    throw err;
  }
  const detector = await detectorReady;
  status.textContent = panel.dataset.aim;
  return new Promise((resolve) => {
    let timer;
    const finish = (value) => {
      clearTimeout(timer);
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
      panel.hidden = true;
      cancel.removeEventListener("click", onCancel);
      resolve(value);
    };
    const onCancel = () => finish(null);
    cancel.addEventListener("click", onCancel);
    const tick = async () => {
      try {
        const codes = video.readyState >= 2 ? await detector.detect(video) : [];
        if (codes.length) return finish(codes[0].rawValue);
      } catch {
        // A frame the decoder could not read: try the next one.
      }
      timer = setTimeout(tick, SCAN_INTERVAL_MS);
    };
    tick();
  });
}

/** A button that scans a QR code with the camera and hands its text to `onText`. */
export function cameraButton(button, panel, onText) {
  if (!navigator.mediaDevices?.getUserMedia) return; // no camera here: the scanner and typing remain
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      const text = await scanQr(panel, button.textContent.trim());
      if (text !== null) onText(text);
    } catch {
      const error = document.getElementById(button.dataset.errorTarget);
      if (error) {
        error.textContent = panel.dataset.cameraError;
        error.hidden = false;
      }
    }
  });
}
