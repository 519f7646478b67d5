// Reports: an export fetched with its progress shown, then saved. Without this script the
// links download the same files directly.
//
// The server says how much is coming before it sends: an XLSX's Content-Length (it is built
// before it is sent), a CSV's line count (`X-Trao-Export-Lines`: it is streamed as it is read).

const LINES_HEADER = "X-Trao-Export-Lines";
const NEWLINE = 10;

/** The fraction received, 0–1, or null if the size is unknown. Pure: node --test runs it. */
export function fraction({ bytes, totalBytes, lines, totalLines }) {
  if (totalLines > 0) return Math.min(1, lines / totalLines);
  if (totalBytes > 0) return Math.min(1, bytes / totalBytes);
  return null;
}

/** The file name of a Content-Disposition header, or `fallback`. */
export function filename(disposition, fallback) {
  const match = /filename="?([^";]+)"?/.exec(disposition || "");
  return match ? match[1] : fallback;
}

function countNewlines(chunk) {
  let n = 0;
  for (let i = 0; i < chunk.length; i += 1) if (chunk[i] === NEWLINE) n += 1;
  return n;
}

function show(box, state, text, value) {
  const bar = box.querySelector("progress");
  box.hidden = false;
  box.dataset.state = state;
  // The states this export went through, in order (what a test, or a curious person, reads).
  const seen = (box.dataset.seen || "").split(" ").filter(Boolean);
  if (seen[seen.length - 1] !== state) box.dataset.seen = [...seen, state].join(" ");
  box.classList.toggle("failed", state === "failed");
  if (value === null) bar.removeAttribute("value");
  else bar.value = value;
  box.querySelector("[role=status]").textContent = text;
}

async function download(link, box, links) {
  const t = box.dataset;
  const percent = new Intl.NumberFormat(document.documentElement.lang || "vi", { style: "percent" });
  links.forEach((a) => a.setAttribute("aria-disabled", "true"));
  box.dataset.seen = "";
  show(box, "waiting", t.tWaiting, null);
  try {
    const response = await fetch(link.href, { credentials: "same-origin" });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const totalLines = Number(response.headers.get(LINES_HEADER)) || 0;
    const totalBytes = Number(response.headers.get("Content-Length")) || 0;
    const reader = response.body.getReader();
    const chunks = [];
    const seen = { bytes: 0, totalBytes, lines: 0, totalLines };
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      seen.bytes += value.length;
      if (totalLines) seen.lines += countNewlines(value);
      const part = fraction(seen);
      show(box, "receiving", t.tReceiving.replace("{percent}", part === null ? "…" : percent.format(part)), part);
    }
    const blob = new Blob(chunks, { type: response.headers.get("Content-Type") || "" });
    const url = URL.createObjectURL(blob);
    const save = document.createElement("a");
    save.href = url;
    save.download = filename(response.headers.get("Content-Disposition"), "trao-report");
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    show(box, "done", t.tDone, 1);
  } catch (error) {
    show(box, "failed", t.tFailed, 0);
  } finally {
    links.forEach((a) => a.removeAttribute("aria-disabled"));
  }
}

function start() {
  const box = document.querySelector(".export-progress");
  const links = [...document.querySelectorAll("a[data-export]")];
  if (!box || !("ReadableStream" in window)) return;
  let busy = false;
  for (const link of links) {
    link.addEventListener("click", async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      try {
        await download(link, box, links);
      } finally {
        busy = false;
      }
    });
  }
  document.documentElement.dataset.reportsReady = "true";
}

if (typeof document !== "undefined") start();
