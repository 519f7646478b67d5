// The counter: a held envelope handed over with the door's proof. The recipient signs on the
// tablet's screen (signature_pad, as in the postman's app); a USB scanner types the ID card's
// QR text and Enter into its field. The form is sent once with an id the server made, so a
// second press or a retry after a lost answer finds the same record.
import SignaturePad from "/static/vendor/signature_pad.js";
import { padToStrokes, signatureCanvasSize } from "/static/js/attempts.js";
import { cameraButton } from "./counter-camera.js";

const form = document.getElementById("collect-form");
const canvas = document.getElementById("signature-pad");
const result = document.getElementById("collect-result");
const submit = form.querySelector("[type=submit]");
const pad = new SignaturePad(canvas, { backgroundColor: "rgb(255,255,255)", penColor: "#000", minWidth: 1, maxWidth: 3 });

function resize() {
  const { ratio, width, height } = signatureCanvasSize(window.devicePixelRatio, canvas.offsetWidth, canvas.offsetHeight);
  if (!canvas.offsetWidth || (canvas.width === width && canvas.height === height)) return;
  const data = pad.toData();
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").scale(ratio, ratio);
  pad.clear();
  if (data.length) pad.fromData(data);
}
new ResizeObserver(resize).observe(canvas);
resize();

// What was sent, kept until the form changes: a retry sends exactly the same body.
let sent = null;
const changed = () => { sent = null; result.hidden = true; };
form.addEventListener("input", changed);
form.addEventListener("change", changed);
pad.addEventListener("endStroke", changed);
document.getElementById("signature-clear").addEventListener("click", () => { pad.clear(); changed(); });

// Show the fields of the way the ID is checked.
function showMethod() {
  const method = form.elements.id_check_method.value;
  for (const block of form.querySelectorAll("[data-method]")) block.hidden = block.dataset.method !== method;
  if (method === "chip_qr") form.elements.id_qr.focus();
}
for (const radio of form.elements.id_check_method) radio.addEventListener("change", showMethod);
showMethod();

// A scanner ends the ID card's QR with Enter: that is not "submit".
const idQr = form.elements.id_qr;
function showCard() {
  const fields = idQr.value.split("|");
  document.getElementById("id-qr-read").textContent = fields.length >= 6 ? `${fields[2] ?? ""} · ••••${(fields[0] ?? "").slice(-4)}` : "";
}
idQr.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault();
  showCard();
});
// Or the tablet's camera reads the card's QR.
cameraButton(document.getElementById("camera-id"), document.querySelector("[data-testid=counter-camera]"), (text) => {
  idQr.value = text;
  changed();
  showCard();
});

function say(text, ok) {
  result.textContent = text;
  result.className = `scan-result ${ok ? "ok" : "bad"}`;
  result.hidden = false;
  if (!ok) result.setAttribute("role", "alert");
}

/** A picture as a JPEG no larger than the office's photo size (what the proof store takes). */
async function asJpeg(file) {
  const side = Number(form.dataset.photoMaxSide) || 1280;
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
  const out = document.createElement("canvas");
  out.width = Math.max(1, Math.round(bitmap.width * scale));
  out.height = Math.max(1, Math.round(bitmap.height * scale));
  out.getContext("2d").drawImage(bitmap, 0, 0, out.width, out.height);
  return new Promise((resolve, reject) =>
    out.toBlob((b) => (b ? resolve(b) : reject(new Error("toBlob failed"))), "image/jpeg", Number(form.dataset.photoQuality) || 0.8));
}

async function body() {
  const data = new FormData(form);
  for (const name of ["authorization", "photo"]) {
    const file = data.get(name);
    data.delete(name);
    if (file instanceof File && file.size) data.append(name, await asJpeg(file), `${name}.jpg`);
  }
  if (!pad.isEmpty()) {
    const png = await new Promise((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("toBlob failed"))), "image/png"));
    data.append("signature", png, "signature.png");
    data.set("signature_strokes", JSON.stringify(padToStrokes(pad.toData())));
  }
  return data;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (submit.disabled) return;
  submit.disabled = true;
  try {
    sent ??= await body();
    const response = await fetch(form.action, {
      method: "POST", body: sent, credentials: "same-origin", headers: { Accept: "application/json" },
    });
    const json = await response.json().catch(() => null);
    if (response.ok && json?.attempt_id) {
      form.hidden = true;
      const done = document.getElementById("collect-done");
      done.querySelector("[data-testid=collect-done-message]").textContent = json.message;
      document.getElementById("collect-done-envelope").href = json.envelope_url;
      done.hidden = false;
    } else {
      say(json?.error?.message ?? form.dataset.networkError, false);
    }
  } catch {
    say(form.dataset.networkError, false);
  } finally {
    submit.disabled = false;
  }
});
