// The import page without reloading: the file chosen once is checked, then imported, by posting
// the same File object again (the server re-reads and re-checks it each time; nothing of it is
// kept between the two). Without JavaScript the form posts normally and the page asks for the
// file again.

const form = document.getElementById("import-form");
const progress = document.querySelector("[data-import-progress]");
const bar = document.querySelector("[data-import-bar]");
const status = document.querySelector("[data-import-status]");
const result = document.querySelector("[data-import-result]");
// Not form.action: the form's buttons are named "action", which shadows the property.
const target = new URL(form.getAttribute("action"), window.location.href);

document.documentElement.classList.add("js");

function showProgress(text, fraction) {
  progress.hidden = false;
  status.textContent = text;
  if (fraction === null) bar.removeAttribute("value");
  else bar.value = fraction;
}

function replaceResult(html) {
  const page = new DOMParser().parseFromString(html, "text/html");
  const fresh = page.querySelector("[data-import-result]");
  result.replaceChildren(...(fresh ? fresh.childNodes : []));
  const flashes = page.querySelectorAll("main > .flash");
  for (const flash of flashes) result.prepend(document.importNode(flash, true));
}

// The redirect after an import was followed by the request itself, and its page carries the
// one-time message saying what was imported: show that page rather than asking for it again.
function showPage(html, url) {
  const page = new DOMParser().parseFromString(html, "text/html");
  const main = page.querySelector("main");
  if (!main) {
    window.location.assign(url);
    return;
  }
  document.title = page.title;
  document.querySelector("main").replaceWith(document.importNode(main, true));
  window.history.pushState(null, "", url);
  window.addEventListener("popstate", () => window.location.reload());
}

function send(submitter) {
  const data = new FormData(form, submitter);
  const importing = submitter && submitter.value !== "check";
  const buttons = document.querySelectorAll("button[form='import-form'], #import-form button");
  for (const button of buttons) button.disabled = true;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", target);
  xhr.upload.onprogress = (event) => {
    if (event.lengthComputable) {
      showProgress(form.dataset.sending, event.loaded / event.total);
    }
  };
  xhr.upload.onload = () => {
    showProgress(importing ? form.dataset.importing : form.dataset.checking, null);
  };
  xhr.onload = () => {
    progress.hidden = true;
    for (const button of buttons) button.disabled = false;
    if (xhr.responseURL && new URL(xhr.responseURL).pathname !== target.pathname) {
      showPage(xhr.responseText, xhr.responseURL); // imported: the list says what arrived
      return;
    }
    replaceResult(xhr.responseText);
  };
  xhr.onerror = () => {
    progress.hidden = true;
    for (const button of buttons) button.disabled = false;
    showProgress(form.dataset.failed, 0);
  };
  showProgress(form.dataset.sending, 0);
  xhr.send(data);
}

form.addEventListener("submit", (event) => {
  if (!form.elements.file.files.length) return; // the browser says a file is needed
  event.preventDefault();
  send(event.submitter);
});
