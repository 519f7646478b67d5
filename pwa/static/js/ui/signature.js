// The recipient's signature on a canvas, kept as strokes of timed points and as a PNG.
import SignaturePad from "/static/vendor/signature_pad.js";
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { padToStrokes, signatureCanvasSize } from "../attempts.js";

export class SignatureBox {
  constructor({ onChange }) {
    this.onChange = onChange;
    this.canvas = h("canvas", { class: "sig-canvas", testid: "signature-pad", role: "img", "aria-label": t("signature_area") });
    this.root = h("div", { class: "sig" });
    fill(this.root,
      h("div", { class: "sig-frame" }, this.canvas, h("span", { class: "sig-hint", "aria-hidden": "true" }, t("sign_here"))),
      h("button", { class: "btn", type: "button", testid: "signature-clear", onclick: () => this.clear() }, t("clear_signature")));
    this.pad = new SignaturePad(this.canvas, { backgroundColor: "rgb(255,255,255)", penColor: "#000", minWidth: 1, maxWidth: 3 });
    this.pad.addEventListener("endStroke", () => this.onChange());
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.canvas);
  }

  /**
   * Size the canvas to its box in device pixels (capped: see signatureCanvasSize), drawing in
   * CSS pixels, and redraw the strokes so far: they are kept in CSS pixels, so they land where
   * they were at any size.
   */
  resize() {
    const cssWidth = this.canvas.offsetWidth;
    const cssHeight = this.canvas.offsetHeight;
    if (!cssWidth || !cssHeight) return;
    const { ratio, width, height } = signatureCanvasSize(window.devicePixelRatio, cssWidth, cssHeight);
    if (this.canvas.width === width && this.canvas.height === height) return;
    const data = this.pad.toData();
    this.canvas.width = width; // resets the context, its scale included
    this.canvas.height = height;
    this.canvas.getContext("2d").scale(ratio, ratio);
    this.pad.clear();
    if (data.length) this.pad.fromData(data);
  }

  clear() {
    this.pad.clear();
    this.onChange();
  }

  get isEmpty() {
    return this.pad.isEmpty();
  }

  /** Strokes as [[{x, y, t}]] (CSS pixels, ms since the epoch). */
  get strokes() {
    return padToStrokes(this.pad.toData());
  }

  /** The signature rendered as PNG. */
  png() {
    return new Promise((resolve, reject) =>
      this.canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("toBlob failed"))), "image/png"));
  }
}
