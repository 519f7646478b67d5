// Photos taken with the camera in the app (never picked from the gallery), hashed when taken.
import { h, fill } from "./dom.js";
import { t } from "../i18n.js";
import { sha256Hex } from "../format.js";
import { cameraErrorKey } from "./camera.js";

export class PhotoList {
  /** name: a test id prefix ("photo", "auth-photo"); max: how many; settings: photo size. */
  constructor({ camera, name, label, max = 6, settings = {}, onChange }) {
    Object.assign(this, { camera, name, label, max, settings, onChange });
    this.items = [];
    this.root = h("div", { class: "photos" });
    this.render();
  }

  reset({ max, settings } = {}) {
    for (const item of this.items) URL.revokeObjectURL(item.url);
    this.items = [];
    if (max) this.max = max;
    if (settings) this.settings = settings;
    this.error = null;
    this.render();
  }

  async take() {
    let blob;
    try {
      blob = await this.camera.photo(this.label, {
        maxSide: this.settings.photo_max_side ?? 1280,
        quality: this.settings.photo_quality ?? 0.8,
      });
    } catch (err) {
      this.error = t(cameraErrorKey(err));
      this.render();
      return;
    }
    if (!blob) return;
    this.error = null;
    this.items.push({ blob, sha256: await sha256Hex(blob), url: URL.createObjectURL(blob) });
    this.render();
    this.onChange?.();
  }

  remove(item) {
    URL.revokeObjectURL(item.url);
    this.items = this.items.filter((i) => i !== item);
    this.render();
    this.onChange?.();
  }

  render() {
    fill(this.root,
      h("ul", { class: "thumbs", testid: `${this.name}-list` },
        this.items.map((item, i) =>
          h("li", {},
            h("img", { src: item.url, alt: `${this.label} ${i + 1}`, width: 96, height: 72 }),
            h("button", { class: "btn btn-small", type: "button", testid: `${this.name}-remove`, "aria-label": `${t("remove_photo")} ${i + 1}`, onclick: () => this.remove(item) }, "✕")))),
      this.items.length < this.max
        ? h("button", { class: "btn btn-big", type: "button", testid: `${this.name}-take`, onclick: () => this.take() }, this.label)
        : h("p", { class: "muted" }, t("max_photos", { n: this.max })),
      this.error ? h("p", { class: "notice notice-bad", role: "alert" }, this.error) : null);
  }
}
