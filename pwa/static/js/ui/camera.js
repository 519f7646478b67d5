// The camera view: scans QR codes or takes a photo, inside the app (never the gallery).
// The camera is stopped after each use: Chromium re-opens its fake video at each getUserMedia.
import { qrDetector } from "../qr.js";
import { t } from "../i18n.js";

const SCAN_INTERVAL_MS = 120;

/** Why the camera could not start, as an i18n key. */
export function cameraErrorKey(err) {
  const name = err?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError") return "camera_denied";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") return "camera_missing";
  if (!navigator.mediaDevices?.getUserMedia) return "camera_missing";
  return "camera_failed";
}

/** Draw a video frame to a JPEG whose long side is at most maxSide. */
export function frameToJpeg(video, maxSide, quality) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  const scale = Math.min(1, maxSide / Math.max(w, h));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("toBlob failed"))), "image/jpeg", quality),
  );
}

export class CameraView {
  constructor(root) {
    this.root = root;
    this.video = root.querySelector("video");
    this.title = root.querySelector("[data-role=title]");
    this.status = root.querySelector("[data-role=status]");
    this.shutter = root.querySelector("[data-testid=camera-shutter]");
    this.cancelButton = root.querySelector("[data-testid=camera-cancel]");
    this.stream = null;
    this.finish = null;
    this.cancelButton.addEventListener("click", () => this.close(null));
    this.shutter.textContent = t("camera_shutter");
    this.cancelButton.textContent = t("camera_cancel");
  }

  setStatus(text, tone = "") {
    this.status.textContent = text;
    this.status.className = `camera-status ${tone ? `tone-${tone}` : ""}`;
  }

  async start(title) {
    this.root.hidden = false;
    this.title.textContent = title;
    this.setStatus(t("camera_starting"), "busy");
    this.startedAt = performance.now();
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw new DOMException("no camera API", "NotFoundError");
      this.stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
      this.video.srcObject = this.stream;
      await this.video.play();
    } catch (err) {
      this.stop();
      this.root.hidden = true;
      throw err;
    }
  }

  stop() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.video.srcObject = null;
    clearTimeout(this.timer);
  }

  close(value) {
    this.stop();
    this.root.hidden = true;
    this.shutter.hidden = true;
    const finish = this.finish;
    this.finish = null;
    finish?.(value);
  }

  /**
   * Scan QR codes until `onText(text)` answers {done: true}; other answers {message, tone} are
   * shown while scanning goes on. Resolves with the accepted text, or null when cancelled.
   * Throws the camera's error when it cannot start.
   */
  async scan(title, onText) {
    const detectorReady = qrDetector();
    detectorReady.catch(() => {});
    await this.start(title);
    let detector;
    try {
      detector = await detectorReady;
    } catch (err) {
      this.close(null);
      throw err;
    }
    this.setStatus(t("camera_aim"));
    this.root.dataset.state = "scanning";
    return new Promise((resolve) => {
      this.finish = resolve;
      let last = null;
      const tick = async () => {
        if (!this.stream) return;
        try {
          const codes = this.video.readyState >= 2 ? await detector.detect(this.video) : [];
          for (const code of codes) {
            if (code.rawValue === last) continue;
            last = code.rawValue;
            const answer = await onText(code.rawValue);
            if (answer.done) {
              this.root.dataset.decodeMs = String(Math.round(performance.now() - this.startedAt));
              this.close(code.rawValue);
              return;
            }
            this.setStatus(answer.message, answer.tone ?? "bad");
          }
        } catch (err) {
          this.setStatus(t("camera_failed"), "bad");
          console.error(err);
        }
        if (this.stream) this.timer = setTimeout(tick, SCAN_INTERVAL_MS);
      };
      tick();
    });
  }

  /** Take one photo; resolves with a JPEG Blob, or null when cancelled. */
  async photo(title, { maxSide = 1280, quality = 0.8 } = {}) {
    await this.start(title);
    this.setStatus(t("camera_ready"));
    this.root.dataset.state = "photo";
    this.shutter.hidden = false;
    return new Promise((resolve) => {
      this.finish = resolve;
      this.shutter.onclick = async () => {
        this.shutter.disabled = true;
        try {
          const blob = await frameToJpeg(this.video, maxSide, quality);
          this.close(blob);
        } finally {
          this.shutter.disabled = false;
        }
      };
    });
  }
}
