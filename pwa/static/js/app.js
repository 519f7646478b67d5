// Wires the postman's app: session, run, screens, camera, outbox, service worker.
import { t } from "./i18n.js";
import { ApiError, getRunsToday, getSession } from "./api.js";
import * as store from "./store.js";
import { Outbox, entryBytes, makeEntry } from "./outbox.js";
import { buildMeta } from "./attempts.js";
import { matchEnvelopeScan, normaliseEnvelopeCode } from "./codes.js";
import { sha256Hex } from "./format.js";
import { allStops, applyReceipt, shownRejected, stopStatus } from "./run-state.js";
import { applyOrder, groupDoors, handoverStops, moveDoor, paidDossiers } from "./doors.js";
import { DoorOrders } from "./door-orders.js";
import { CameraView, cameraErrorKey } from "./ui/camera.js";
import { RunList } from "./ui/run-list.js";
import { StopView } from "./ui/stop-view.js";
import { DeliverScreen } from "./ui/deliver-screen.js";
import { FailForm } from "./ui/fail-form.js";
import { SyncBar } from "./ui/sync-bar.js";
import { UpdatePrompt } from "./ui/update-prompt.js";
import { StorageGuard, isInstalled } from "./storage-guard.js";
import { StorageNotice } from "./ui/storage-notice.js";
import { pendingCount } from "./background-sync.js";
import { OfflineReady, offlineState } from "./ui/offline-ready.js";
import { hasNativeQrDetector } from "./qr.js";

const SYNC_EVERY_MS = 20000;
const SYNC_TAG = "trao-outbox";
const LOGGED_OUT = "trao.loggedOut";
const $ = (id) => document.getElementById(id);

const state = {
  user: null,
  runData: null,
  entries: [],
  stop: null,
  scan: null,
  retrying: false, // "Phát lại" chosen on the stop shown: a failed stop tried again on the run
  syncing: false,
  progress: null, // the running flush's (outbox.js), shown in the sync bar
  acked: new Set(), // attempt ids acknowledged during the running flush
  loginRequired: false,
};

const camera = new CameraView($("camera"));
const screens = ["run", "stop", "deliver", "fail"];

function show(name, push = true) {
  for (const s of screens) $(`screen-${s}`).hidden = s !== name;
  if (name !== "run") document.title = `${state.stop?.recipient.name ?? ""} · Trao`;
  else document.title = `${t("run_title")} · Trao`;
  const depth = { run: 0, stop: 1, deliver: 2, fail: 2 }[name];
  if (push) history.pushState({ screen: name, depth }, "");
  window.scrollTo(0, 0);
}

let toastTimer;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 6000);
}

document.querySelector("[data-testid=logout]").textContent = t("logout");
$("loading").textContent = t("loading");

// --- The outbox ----------------------------------------------------------------------------

const outbox = new Outbox({
  store: store.outboxStore,
  fetch: (...args) => fetch(...args),
  onChange: () => refreshEntries(),
  onAck: (entry, receipt) => {
    if (!state.runData) return;
    applyReceipt(state.runData, entry, receipt);
    saveRunSoon();
  },
  // Each attempt settled during a sync changes the entries kept here, not read again from the
  // store (hundreds of entries with their photos): the count falls as each is acknowledged.
  onSettled: (entry, verdict) => {
    if (verdict === "ack") {
      state.acked.add(entry.attempt_id);
      state.entries = state.entries.filter((e) => e.attempt_id !== entry.attempt_id);
      settledStops.add(entry.stop_id);
    } else {
      state.entries = state.entries.map((e) => (e.attempt_id === entry.attempt_id ? entry : e));
      settledStops.add(null); // a refusal may move its stop and shows a note: draw it all
    }
    renderSyncBar();
    renderSettledSoon();
  },
  onProgress: (progress) => {
    state.progress = progress;
    renderSyncBar();
  },
});

// The run as it stands after the receipts, kept on the phone: written while the next attempt is
// on its way, not before (a run of 500 stops is a few hundred KB to clone and write: on a cheap
// phone that would hold every acknowledgement up), at most one write in flight and one to follow.
let runSaving = null;
let runDirty = false;
function saveRunSoon() {
  runDirty = true;
  runSaving ??= (async () => {
    while (runDirty) {
      runDirty = false;
      await store.saveRun(state.user.id, state.runData).catch((err) => console.warn("saving the run", err));
    }
    runSaving = null;
  })();
  return runSaving;
}

async function refreshEntries() {
  if (!state.user) return;
  const entries = await outbox.entries(state.user.id);
  // A read that began before an acknowledgement must not bring its attempt back on screen.
  state.entries = state.acked.size ? entries.filter((e) => !state.acked.has(e.attempt_id)) : entries;
  state.loginRequired = state.loginRequired || outbox.loginRequired;
  renderAll();
  checkStorageSoon();
}

// While a sync acknowledges attempts (several a second), the cards of their stops are redrawn
// together at most every RENDER_EVERY_MS, and only them: the postman keeps scrolling, typing a
// code and opening stops meanwhile (a whole redraw would swallow a tap or a half-typed code).
const RENDER_EVERY_MS = 300;
const settledStops = new Set(); // null: redraw everything
let renderTimer = null;
function renderSettledSoon() {
  renderTimer ??= setTimeout(() => {
    renderTimer = null;
    const stops = new Set(settledStops);
    settledStops.clear();
    if (!state.runData) return;
    if (stops.has(null)) return renderAll();
    runList.refreshStops(state.runData, state.entries, stops);
    if (!$("screen-stop").hidden && state.stop && stops.has(state.stop.stop_id)) renderStop();
  }, RENDER_EVERY_MS);
}

async function sync({ force = false } = {}) {
  if (!state.user) return;
  if (state.syncing) {
    // An attempt queued (or re-queued) during a run: send it right after, not at the next tick.
    state.syncAgain = state.syncAgain || force;
    return;
  }
  if (!state.entries.some((e) => e.state === "pending")) return;
  state.syncing = true;
  state.syncAgain = false;
  renderSyncBar();
  try {
    const result = await outbox.flush(state.user.id, { force });
    state.loginRequired = result.login;
    if (result.sent && navigator.onLine) loadRunFromServer().catch(() => {});
  } finally {
    state.syncing = false;
    await refreshEntries();
    state.acked.clear(); // read after the flush: the store holds none of them any more
  }
  if (state.syncAgain && !state.loginRequired) {
    state.syncAgain = false;
    await sync({ force: true });
  }
}

/** "Send again" on a rejected attempt: back in the queue, due now, and sent. */
async function retryRejected(attemptId) {
  if (!state.user) return;
  await outbox.retry(attemptId);
  await refreshEntries();
  await sync({ force: true });
}

/** "Seen, dismiss": the attempt stays on the phone, no longer shown, counted or sent. */
async function dismissRejected(attemptId) {
  if (!state.user) return;
  await outbox.dismiss(attemptId);
  await refreshEntries();
}

// --- Rendering -----------------------------------------------------------------------------

const syncBar = new SyncBar($("syncbar"), { onSync: () => sync({ force: true }) });
const runList = new RunList($("screen-run"), {
  onOpen: (stop) => openStop(stop, null),
  onScan: () => scanEnvelope(),
  onTyped: (text) => typedCode(text),
  onRetry: retryRejected,
  onDismiss: dismissRejected,
  onMove: (runId, key, step) => moveDoorByHand(runId, key, step).catch((err) => console.warn("moving a door", err)),
});
const stopView = new StopView($("screen-stop"), {
  runData: () => state.runData,
  onBack: () => history.back(),
  onScan: () => scanEnvelope(state.stop),
  onTyped: (text) => typedCode(text, state.stop),
  onDeliver: () => {
    // The door's other envelopes still to hand over come along (one hand-over: issue 11).
    deliverScreen.open(state.stop, state.runData.settings ?? {}, {
      scan: state.scan,
      stops: handoverStops(state.runData, state.stop, state.entries),
      paid: paidDossiers(state.runData, state.entries),
      reasons: state.runData.reasons ?? [],
    });
    show("deliver");
  },
  onFail: () => {
    failForm.open(state.stop, state.runData.reasons ?? [], state.runData.settings ?? {});
    show("fail");
  },
  onTryAgain: () => {
    state.retrying = true;
    renderStop();
    $("screen-stop").querySelector("[data-testid=retrying]")?.scrollIntoView({ block: "start" });
  },
  onRetry: retryRejected,
  onDismiss: dismissRejected,
});
const deliverScreen = new DeliverScreen($("screen-deliver"), { camera, onBack: () => history.back(), onSubmit: saveAttempt });
const failForm = new FailForm($("screen-fail"), { camera, onBack: () => history.back(), onSubmit: saveAttempt });
const updatePrompt = new UpdatePrompt($("update"));

function renderSyncBar() {
  const waiting = state.entries.filter((e) => e.state === "pending");
  const pending = waiting.length;
  const pendingBytes = waiting.reduce((sum, e) => sum + (e.bytes ?? entryBytes(e)), 0);
  const rejected = shownRejected(state.runData, state.entries).length;
  const savedAt = state.fresh || !state.savedAt ? null
    : new Date(state.savedAt).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
  syncBar.render({ pending, pendingBytes, progress: state.progress, rejected, syncing: state.syncing, loginRequired: state.loginRequired, online: navigator.onLine, savedAt });
}

function dayLabel(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(document.documentElement.lang, { weekday: "long", day: "numeric", month: "numeric", year: "numeric" });
}

function renderAll() {
  renderSyncBar();
  if (!state.runData) return;
  runList.render(state.runData, state.entries, { dateLabel: dayLabel(state.runData.date), orderPending: doorOrders.count > 0 });
  if (!$("screen-stop").hidden && state.stop) renderStop();
}

/** The stop's screen, from the run as it is now (reloaded from the server since, perhaps). */
function renderStop(message = null, scan = state.scan) {
  state.stop = currentStop(state.stop);
  stopView.render(state.stop, state.entries, scan, message, { retrying: state.retrying });
}

// --- Finding the envelope --------------------------------------------------------------------

/** push: opened from the run (a new visit to the stop), not back from its forms or a scan on it. */
function openStop(stop, scan, message = null, push = true) {
  if (push || stop.stop_id !== state.stop?.stop_id) state.retrying = false;
  state.stop = stop;
  state.scan = scan;
  renderStop(message);
  show("stop", push);
}

function scanMessage(match) {
  switch (match.result) {
    case "not_on_run": return t("scan_not_on_run");
    case "forged": return t("scan_forged");
    case "id_card": return t("scan_id_here");
    default: return t("scan_not_envelope");
  }
}

/** Scan an envelope: from the run (opens its stop) or on a stop (must be that stop's). */
async function scanEnvelope(onStop = null) {
  const stops = allStops(state.runData);
  runList.say("");
  let found = null;
  try {
    await camera.scan(t("scan_envelope"), async (text) => {
      const match = await matchEnvelopeScan(text, stops);
      if (match.result !== "match") return { done: false, message: scanMessage(match) };
      if (onStop && match.stop.stop_id !== onStop.stop_id) {
        return { done: false, message: t("scan_other_stop", { name: match.stop.recipient.name }) };
      }
      found = match;
      return { done: true };
    });
  } catch (err) {
    const text = `${t(cameraErrorKey(err))} ${t("type_code")}.`;
    if (onStop) renderStop({ text, tone: "warn" }, null);
    else runList.say(text, "warn");
    (onStop ? $("stop-code-input") : $("code-input"))?.focus();
    return;
  }
  if (found) openStop(found.stop, { method: "qr", payload: found.payload }, null, !onStop);
}

function typedCode(text, onStop = null) {
  const code = normaliseEnvelopeCode(text);
  const say = (msg) => (onStop ? renderStop({ text: msg, tone: "bad" }, null) : runList.say(msg));
  if (!code) return say(t("code_invalid"));
  const stop = allStops(state.runData).find((s) => s.envelope_code === code);
  if (!stop) return say(t("scan_not_on_run"));
  if (onStop && stop.stop_id !== onStop.stop_id) return say(t("scan_other_stop", { name: stop.recipient.name }));
  runList.say("");
  openStop(stop, { method: "typed", payload: null }, null, !onStop);
}

// --- Saving an attempt -----------------------------------------------------------------------

/** The stop as the run holds it now (the run may have been reloaded since its screen opened). */
function currentStop(stop) {
  return allStops(state.runData).find((s) => s.stop_id === stop.stop_id) ?? stop;
}

async function saveAttempt({ door = null, ...attempt }) {
  // A door's hand-over is an attempt per envelope (each with its own scan), queued in order.
  const attempts = door ?? [{ ...attempt, scan: state.scan }];
  const now = Date.now();
  for (const [i, { stop, scan, outcome, recipient, note, fees, strokes, position, reasonCode, files }] of attempts.entries()) {
    // The server takes an attempt only as the envelope's next: the stop's number plus those of
    // its attempts still waiting in the outbox.
    const attemptNumber = stopStatus(currentStop(stop), state.entries).attemptNumber;
    const meta = buildMeta({ stop, scan, outcome, attemptNumber, recipient, note, fees, strokes, position, reasonCode });
    for (const file of files) file.sha256 ??= await sha256Hex(file.blob);
    await outbox.add(makeEntry({ userId: state.user.id, meta, files, now: now + i }));
  }
  await refreshEntries();
  storageGuard.queued().then(checkStorage).catch(() => {});
  deliverScreen.stop = failForm.stop = null;
  state.scan = null;
  state.retrying = false;
  const depth = history.state?.depth ?? 0;
  if (depth > 0) history.go(-depth);
  show("run", false);
  // Online it goes at once (the sync bar then says when it is in); offline it waits.
  toast(t(navigator.onLine ? "saved_sending" : "saved_pending"));
  const reg = await navigator.serviceWorker?.getRegistration();
  reg?.sync?.register(SYNC_TAG).catch(() => {});
  sync({ force: true });
}

// --- The order of the doors, set by hand (door-orders.js) -------------------------------------

const doorOrders = new DoorOrders({ store, fetch: (...args) => fetch(...args) });

/** Move a door one place up (step -1) or down (+1) among the doors left: kept on the phone at
 * once (it holds offline and across a reload), and sent to the server when there is signal. */
async function moveDoorByHand(runId, key, step) {
  const run = state.runData?.runs?.find((r) => r.id === runId);
  if (!run || !state.user) return;
  // Among the doors the postman sees left to do: the finished ones, folded away, are passed over.
  const left = new Set(groupDoors(state.runData, state.entries).left.map((door) => door.key));
  const order = moveDoor(run, key, step, left);
  if (!order || !applyOrder(run, order)) return;
  await doorOrders.keep(runId, order);
  saveRunSoon();
  renderAll();
  // The moved door's same button keeps the focus: the postman taps again to move it further.
  const testid = step < 0 ? "door-up" : "door-down";
  const button = document.querySelector(`[data-testid=stops] > li[data-door="${CSS.escape(key)}"] [data-testid=${testid}]`);
  if (button && !button.disabled) button.focus();
  button?.closest("li")?.scrollIntoView({ block: "nearest" });
  sendDoorOrders().catch((err) => console.warn("sending the order", err));
}

/** Send the orders waiting on the phone (at start, on signal, at every sync tick). */
async function sendDoorOrders() {
  if (!state.user || !doorOrders.count || !navigator.onLine) return;
  const result = await doorOrders.send();
  if (result.login) state.loginRequired = true;
  if (result.dropped.length) {
    const code = result.reasons.find((c) => c && t(`err_${c}`) !== `err_${c}`) ?? "bad_order";
    toast(t("order_refused", { reason: t(`err_${code}`) }));
  }
  if (result.sent || result.dropped.length) {
    // The server's run now: the postman's order, or the server's own where it was refused.
    await loadRunFromServer().catch(() => {});
  }
  // Moved again while it was sent: send the newer order too.
  if (result.sent && doorOrders.count && !result.retry) await sendDoorOrders();
  renderAll();
}

// --- Start -------------------------------------------------------------------------------------

async function loadRunFromServer() {
  // unchanged: a 304, and the run held; the outbox's count goes with it (X-Trao-Outbox)
  const data = await getRunsToday(state.runData, { waiting: pendingCount(state.entries ?? []) });
  // The postman's own order, not yet on the server, wins over the server's; one that no longer
  // fits the run (the supervisor changed its envelopes meanwhile) gives way, and the postman is told.
  if ((await doorOrders.overlay(data)).length) toast(t("order_refused", { reason: t("err_bad_order") }));
  state.runData = data;
  state.fresh = true;
  await store.saveRun(state.user.id, data);
  renderAll();
}

function setUser(user, csrf) {
  state.user = user;
  $("postman-name").textContent = user.full_name ?? user.username;
  if (csrf) document.querySelector("#logout-form [name=csrf_token]").value = csrf;
}

async function start() {
  let session = null;
  try {
    session = await getSession();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const last = localStorage.getItem(LOGGED_OUT) ? null : await store.getValue("lastUser");
    if (err.status === 401) {
      if (!last) {
        location.replace("/login?next=/app");
        return;
      }
      state.loginRequired = true;
    }
    if (!last) {
      $("loading").textContent = t("offline_no_data");
      return;
    }
    setUser(last);
  }
  if (session) {
    if (session.user.role !== "postman") {
      $("loading").textContent = t("not_postman");
      return;
    }
    setUser(session.user, session.csrf_token);
    localStorage.removeItem(LOGGED_OUT);
    await store.setValue("lastUser", session.user);
  }
  await doorOrders.load(state.user.id);
  const saved = await store.loadRun(state.user.id);
  if (saved) {
    state.runData = saved.data;
    state.savedAt = saved.fetched_at;
    await doorOrders.overlay(state.runData); // moved just before the phone went off, perhaps
  }
  await refreshEntries();
  storageGuard.start().then(checkStorage).catch(() => {});
  keepSyncRegistered();
  if (session) {
    try {
      await loadRunFromServer();
    } catch (err) {
      if (err.status === 401) state.loginRequired = true;
    }
  }
  $("loading").hidden = true;
  if (!state.runData) {
    $("loading").hidden = false;
    $("loading").textContent = state.loginRequired ? t("login_needed") : t("offline_no_data");
    return;
  }
  $("screen-run").hidden = false;
  history.replaceState({ screen: "run", depth: 0 }, "");
  renderAll();
  sync();
  sendDoorOrders().catch((err) => console.warn("sending the order", err));
}

window.addEventListener("popstate", (event) => {
  const screen = event.state?.screen ?? "run";
  if (camera.stream) camera.close(null);
  const formOpen = (screen === "deliver" && deliverScreen.stop) || (screen === "fail" && failForm.stop);
  if (screen === "run" || !state.stop) show("run", false);
  else if (formOpen) show(screen, false);
  else openStop(state.stop, state.scan, null, false);
});
window.addEventListener("online", () => {
  renderSyncBar();
  sync({ force: true });
  sendDoorOrders().catch((err) => console.warn("sending the order", err));
  if (state.user && !state.fresh) loadRunFromServer().catch(() => {});
});
window.addEventListener("offline", renderSyncBar);
setInterval(() => {
  sync();
  sendDoorOrders().catch((err) => console.warn("sending the order", err));
}, SYNC_EVERY_MS);

// The log-out form: remember (synchronously) that the postman logged out, so the cached app
// shows no one's run until the next log-in; the outbox stays. A fresh CSRF token if none yet.
$("logout-form").addEventListener("submit", async (event) => {
  localStorage.setItem(LOGGED_OUT, "1");
  const form = event.target;
  const token = form.querySelector("[name=csrf_token]");
  if (token.value) return;
  event.preventDefault();
  try {
    token.value = (await getSession()).csrf_token;
  } catch { /* offline or already logged out: the server will say */ }
  form.submit();
});

// Language: the page's (set before the modules ran); the choice is kept on the phone too, so the cached shell follows it offline.
{
  const toggle = $("lang-toggle");
  const other = document.documentElement.lang === "en" ? "vi" : "en";
  toggle.href = `/app?lang=${other}`;
  toggle.hreflang = toggle.lang = other;
  toggle.textContent = t("language_other");
  toggle.addEventListener("click", () => localStorage.setItem("trao.lang", other));
}

// --- The service worker -------------------------------------------------------------------------

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const reg = await navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" });
  let accepted = false;
  const offer = (worker) => {
    if (!worker || !navigator.serviceWorker.controller) return;
    updatePrompt.show({ postMessage: (m) => { accepted = true; worker.postMessage(m); } });
  };
  offer(reg.waiting);
  reg.addEventListener("updatefound", () => {
    const worker = reg.installing;
    worker?.addEventListener("statechange", () => worker.state === "installed" && offer(worker));
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (accepted) location.reload();
  });
  setInterval(() => reg.update().catch(() => {}), 30 * 60 * 1000);
}

// --- Background Sync: the tag stays while attempts wait (background-sync.js, sw.js) ----------------

/**
 * Register "trao-outbox" whenever attempts wait. The browser drops the tag after a sync event
 * that succeeded, or after its last retry (Chrome: three tries), and a worker cannot register it
 * with no window open: so the app registers it again at start, when the network drops, and when
 * the postman leaves the app (hidden, or closed), the last moment a window can.
 */
async function keepSyncRegistered() {
  try {
    if (!pendingCount(state.entries)) return;
    const reg = await navigator.serviceWorker?.getRegistration();
    await reg?.sync?.register(SYNC_TAG);
  } catch { /* no Background Sync here: the app's own loop sends the outbox */ }
}

/**
 * The worker's sync event asks the app to send: send, wait for a run already going, and answer
 * how many attempts are left, so that the worker tells the browser to try again while any wait.
 * With no postman yet (starting, logged out) the answer is "no count": the worker sends itself.
 */
async function flushForWorker() {
  if (!state.user) return { pending: null };
  await sync({ force: true });
  while (state.syncing) await new Promise((resolve) => setTimeout(resolve, 250));
  return { pending: pendingCount(state.entries), loginRequired: state.loginRequired, online: navigator.onLine };
}

navigator.serviceWorker?.addEventListener("message", async (event) => {
  if (event.data?.type !== "flush") return;
  let answer = { pending: null };
  try {
    answer = await flushForWorker();
  } finally {
    event.ports[0]?.postMessage(answer);
  }
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") keepSyncRegistered();
});
window.addEventListener("pagehide", () => keepSyncRegistered());
window.addEventListener("offline", () => keepSyncRegistered());

// --- Keeping the proofs on the phone (storage-guard.js) -------------------------------------------

const storageGuard = new StorageGuard({ storage: navigator.storage, installed: () => isInstalled(window) });
const storageNotice = new StorageNotice(Object.assign(document.createElement("div"), {
  id: "storage", className: "storage", hidden: true,
}));
storageNotice.root.dataset.testid = "storage-status";
$("syncbar").after(storageNotice.root);

/** Ask how much room is left and show what the postman must know about it. */
async function checkStorage() {
  if (!state.user) return;
  await storageGuard.measure();
  const pending = pendingCount(state.entries);
  storageNotice.render(storageGuard.notices(pending), { persistence: storageGuard.persistence, pending });
}

let storageTimer;
function checkStorageSoon() {
  clearTimeout(storageTimer);
  storageTimer = setTimeout(() => checkStorage().catch(() => {}), 500);
}

// Installed from the browser's menu while open: the browser may grant now what it refused.
window.addEventListener("appinstalled", () => storageGuard.installedNow().then(checkStorage).catch(() => {}));

// --- Ready to work without signal (issue 9) ---------------------------------------------------

const offlineReady = new OfflineReady($("offline-ready"));
let offlinePreparing = false;

/** Ask the service worker whether everything the app needs offline is cached (and, on a phone
 * without a native QR detector, to cache the decoder too); show the postman its answers. */
async function prepareOffline() {
  if (!("serviceWorker" in navigator) || !("caches" in window)) return offlineReady.render("unsupported");
  if (offlinePreparing || offlineReady.root.dataset.state === "ready") return;
  offlinePreparing = true;
  if (!offlineReady.root.dataset.state) offlineReady.render("preparing");
  try {
    const [reg, native] = await Promise.all([navigator.serviceWorker.ready, hasNativeQrDetector()]);
    const worker = navigator.serviceWorker.controller ?? reg.active;
    await new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = ({ data }) => {
        const shown = offlineState(data);
        offlineReady.render(shown);
        if (shown !== "scanner-pending") resolve();
      };
      worker.postMessage({ type: "prepare-offline", decoder: !native }, [channel.port2]);
    });
  } finally {
    offlinePreparing = false;
  }
}

// Signal back: cache what is still missing (the decoder, after a first log-in cut short).
window.addEventListener("online", () => prepareOffline().catch((err) => console.warn("offline-ready", err)));

registerServiceWorker().catch((err) => console.warn("service worker", err));
prepareOffline().catch((err) => console.warn("offline-ready", err));
start().catch((err) => {
  console.error(err);
  $("loading").textContent = String(err?.message ?? err);
});
