// Closing a run: each envelope handed back is scanned (a USB scanner types the code and Enter)
// and sent without reloading; the count, the lists and a sound say what happened. The money's
// difference is shown as the supervisor types what was handed over.
import { beep } from "./beep.js";

const form = document.getElementById("scan-form");
const input = document.getElementById("scan-code");
const result = document.getElementById("scan-result");
const backList = document.getElementById("back-list");
const outstandingList = document.getElementById("outstanding-list");

function say(text, ok) {
  result.textContent = text;
  result.className = `scan-result ${ok ? "ok" : "bad"}`;
  result.dataset.outcome = ok ? "back" : "refused";
  result.hidden = false;
  beep(ok);
}

function showCounts(counts) {
  document.querySelector("[data-testid=back-count]").textContent = String(counts.back);
  document.querySelector("[data-testid=expected-count]").textContent = String(counts.expected);
  const empty = counts.left === 0;
  document.getElementById("outstanding-empty").hidden = !empty;
  const warning = document.getElementById("left-warning");
  if (warning) warning.hidden = empty;
}

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
      item.append(code, ` ${json.envelope.recipient_name} · ${json.envelope.outcome_label}`);
      backList.prepend(item);
      for (const li of outstandingList.querySelectorAll("li")) {
        if (li.dataset.code === json.envelope.code) li.remove();
      }
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

// The money: what the phone recorded against what is typed.
const received = document.getElementById("received-vnd");
const expected = Number(document.querySelector("[data-testid=expected-vnd]")?.dataset.vnd ?? 0);
const difference = document.getElementById("difference");
const money = new Intl.NumberFormat(document.documentElement.lang || "vi");

function showDifference() {
  const digits = received.value.replace(/[\s.,\u00a0]/g, "");
  if (!/^\d{1,10}$/.test(digits)) {
    difference.textContent = "";
    return;
  }
  const diff = Number(digits) - expected;
  const amount = `${money.format(Math.abs(diff))} đ`;
  const template = diff < 0 ? difference.dataset.short : diff > 0 ? difference.dataset.over : difference.dataset.even;
  const words = document.createElement("span");
  words.className = diff < 0 ? "short" : diff > 0 ? "over" : "even";
  words.textContent = template.replace("{amount}", amount);
  difference.replaceChildren(words);
  difference.dataset.difference = String(diff);
}
received?.addEventListener("input", showDifference);
if (received?.value) showDifference();
