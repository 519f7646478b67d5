// Trao's service worker (a module): precaches the app shell under a versioned cache, serves it
// offline, and sends the outbox through Background Sync. Rendered by backend/delivery/pwa.py.
// This file only wires events; the strategies are the named functions below.
import { Outbox } from "/static/js/outbox.js";
import { getValue, loadRun, outboxStore, saveRun } from "/static/js/store.js";
import { applyReceipt } from "/static/js/run-state.js";
import { SYNC_TAG, askClientToFlush, flushOutbox, syncOutbox } from "/static/js/background-sync.js";

const VERSION = {{ version|tojson }};
const CACHE_PREFIX = "trao-shell-";
const CACHE = CACHE_PREFIX + VERSION;
const PRECACHE = {{ precache|tojson }};
const SHELL_URL = {{ shell_url|tojson }};

self.addEventListener("install", (event) => event.waitUntil(precache()));
self.addEventListener("activate", (event) => event.waitUntil(cleanOldCaches().then(() => self.clients.claim())));
self.addEventListener("fetch", (event) => {
  const strategy = strategyFor(event.request);
  if (strategy) event.respondWith(strategy(event.request));
});
self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting();
});
self.addEventListener("sync", (event) => {
  // Rejects while attempts are left, so that the browser keeps the tag and tries again.
  if (event.tag === SYNC_TAG) event.waitUntil(syncOutbox({ appWindows, askClient: askClientToFlush, flushHere }));
});

/** Fetch every asset, revalidated against the server (a 304 costs nothing), into this version's cache. */
async function precache() {
  const cache = await caches.open(CACHE);
  await Promise.all(
    PRECACHE.map(async (url) => {
      const response = await fetch(url, { cache: "no-cache", credentials: "same-origin" });
      if (response.ok && !response.redirected) return cache.put(url, response);
      // The shell needs a logged-in postman: keep the last version's copy rather than fail.
      const previous = url === SHELL_URL ? await caches.match(url) : undefined;
      if (previous) return cache.put(url, previous);
      throw new Error(`precache ${url}: ${response.status}`);
    }),
  );
}

async function cleanOldCaches() {
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith(CACHE_PREFIX) && n !== CACHE).map((n) => caches.delete(n)));
}

function strategyFor(request) {
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return null;
  if (request.mode === "navigate" && url.pathname === SHELL_URL) {
    return url.search ? networkThenShell : shellFromCache;
  }
  if (PRECACHE.includes(url.pathname)) return cacheOrNetwork;
  return null; // the API and the other pages go to the network untouched
}

/** The cached shell: the app opens with no signal; the session is checked by the app itself. */
async function shellFromCache(request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(SHELL_URL)) ?? fetch(request);
}

/** /app?lang=…: the server records the choice; offline, the cached shell. */
async function networkThenShell(request) {
  try {
    return await fetch(request);
  } catch {
    return shellFromCache(request);
  }
}

async function cacheOrNetwork(request) {
  const cache = await caches.open(CACHE);
  return (await cache.match(new URL(request.url).pathname)) ?? fetch(request);
}

// --- Background Sync: the outbox sent with the app closed --------------------------------------

// One outbox for the worker, so that two sync events at once share one run.
const outbox = new Outbox({ store: outboxStore, fetch: (...args) => fetch(...args), onAck: applyToSavedRun });

/** The app's open windows (other pages of the origin, such as /login, cannot send the outbox). */
async function appWindows() {
  const windows = await self.clients.matchAll({ type: "window" });
  return windows.filter((client) => new URL(client.url).pathname === SHELL_URL);
}

/** No app open: send from here, as the postman who last logged in on this phone. */
function flushHere() {
  return flushOutbox({ outbox, lastUser: () => getValue("lastUser") });
}

/** Mark the stop done in the saved run, so that the app opened offline later shows it so. */
async function applyToSavedRun(entry, receipt) {
  const saved = await loadRun(entry.user_id);
  if (!saved) return;
  applyReceipt(saved.data, entry, receipt);
  await saveRun(entry.user_id, saved.data, saved.fetched_at);
}
