// Receiving from an agency: each scan (a USB scanner types the code and Enter) is sent without
// reloading; the count, the list and a sound say what happened, and the field is ready again.
import { beep } from "./beep.js";

const form = document.getElementById("scan-form");
const input = document.getElementById("scan-code");
const result = document.getElementById("scan-result");
const list = document.getElementById("received-list");

function say(text, ok) {
  result.textContent = text;
  result.className = `scan-result ${ok ? "ok" : "bad"}`;
  result.dataset.outcome = ok ? "received" : "refused";
  result.hidden = false;
  beep(ok);
}

function showCounts(counts) {
  for (const name of ["received", "announced", "waiting"]) {
    document.querySelector(`[data-testid=${name}-count]`).textContent = String(counts[name]);
  }
}

/** Send one scan and show its answer. */
async function send(body) {
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const json = await response.json().catch(() => null);
    if (response.ok && json?.envelope) {
      const item = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = json.envelope.code;
      item.append(code, ` ${json.envelope.recipient_name} · ${json.envelope.commune_name}`);
      list.prepend(item);
      showCounts(json.counts);
      say(json.message, true);
    } else {
      say(json?.error?.message ?? form.dataset.networkError, false);
    }
  } catch {
    say(form.dataset.networkError, false);
  }
}

// A scanner may type the next code before the last answer came: scans are sent in turn.
let queue = Promise.resolve();
form?.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!input.value.trim()) return;
  const body = new FormData(form);
  input.value = "";
  input.focus();
  queue = queue.then(() => send(body));
});
// Scans typed before this line went to the server as a plain form post (it answers those too).
if (form) form.dataset.ready = "1";
