// Trao's service worker (a module): precaches the app shell under a versioned cache, serves it
// offline, and sends the outbox through Background Sync. Rendered by backend/delivery/pwa.py.
// The QR decoder is not precached: a page on a phone without a native BarcodeDetector asks for it
// ("prepare-offline"), and it goes into the same versioned cache.
// This file only wires events; the strategies are the named functions below.
import { Outbox } from "/static/js/outbox.js";
import { getValue, loadRun, outboxStore, saveRun } from "/static/js/store.js";
import { applyReceipt } from "/static/js/run-state.js";
import { SYNC_TAG, askClientToFlush, flushOutbox, syncOutbox } from "/static/js/background-sync.js";

const VERSION = {{ version|tojson }};
const CACHE_PREFIX = "trao-shell-";
const CACHE = CACHE_PREFIX + VERSION;
const PRECACHE = {{ precache|tojson }};
const DECODER = {{ decoder|tojson }};
// url -> the start of its SHA-256 (hex): a copy in the HTTP cache that matches needs no request.
const DIGESTS = {{ digests|tojson }};
const SHELL_URL = {{ shell_url|tojson }};

self.addEventListener("install", (event) => event.waitUntil(precache().then(carryDecoder)));
self.addEventListener("activate", (event) => event.waitUntil(cleanOldCaches().then(() => self.clients.claim())));
self.addEventListener("fetch", (event) => {
  const strategy = strategyFor(event.request);
  if (strategy) event.respondWith(strategy(event.request));
});
self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting();
  if (event.data?.type === "prepare-offline") event.waitUntil(prepareOffline(event.data, event.ports[0]));
});
self.addEventListener("sync", (event) => {
  // Rejects while attempts are left, so that the browser keeps the tag and tries again.
  if (event.tag === SYNC_TAG) event.waitUntil(syncOutbox({ appWindows, askClient: askClientToFlush, flushHere }));
});

/** Fetch every asset into this version's cache: the page's own copy when it is this version's
 * (checked by its digest), else revalidated against the server. */
async function precache() {
  const cache = await caches.open(CACHE);
  await Promise.all(
    PRECACHE.map(async (url) => {
      const response = (await checkedFromHttpCache(url)) ?? (await fetch(url, { cache: "no-cache", credentials: "same-origin" }));
      if (response.ok && !response.redirected) return cache.put(url, response);
      // The shell needs a logged-in postman: keep the last version's copy rather than fail.
      const previous = url === SHELL_URL ? await caches.match(url) : undefined;
      if (previous) return cache.put(url, previous);
      throw new Error(`precache ${url}: ${response.status}`);
    }),
  );
}

/** The browser's HTTP-cached copy of `url` if its contents are the deployed ones, else null: on a
 * slow link each revalidation costs a round trip, and the page has just loaded most of them. */
async function checkedFromHttpCache(url) {
  if (!(url in DIGESTS)) return null;
  try {
    const response = await fetch(url, { cache: "force-cache", credentials: "same-origin" });
    if (!response.ok || response.redirected) return null;
    const digest = await crypto.subtle.digest("SHA-256", await response.clone().arrayBuffer());
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    return hex.startsWith(DIGESTS[url]) ? response : null;
  } catch {
    return null;
  }
}

/** A phone that needed the decoder under the last version needs it under this one too. */
async function carryDecoder() {
  const cache = await caches.open(CACHE);
  const held = await Promise.all(DECODER.map((url) => caches.match(url)));
  if (!held.some(Boolean)) return;
  await Promise.all(DECODER.map((url) => fetchInto(cache, url))).catch(() => {}); // the page asks again
}

const inFlight = new Map();

/** Fetch `url` (revalidated) into `cache`; one download at a time per URL, whoever asks. */
function fetchInto(cache, url) {
  if (!inFlight.has(url)) {
    const done = (async () => {
      const response = (await checkedFromHttpCache(url)) ?? (await fetch(url, { cache: "no-cache", credentials: "same-origin" }));
      if (!response.ok || response.redirected) throw new Error(`cache ${url}: ${response.status}`);
      await cache.put(url, response);
    })().finally(() => inFlight.delete(url));
    inFlight.set(url, done);
  }
  return inFlight.get(url);
}

/** Cache what is missing of `urls`; true when all of them are in this version's cache. */
async function ensureCached(urls) {
  const cache = await caches.open(CACHE);
  const results = await Promise.allSettled(
    urls.map(async (url) => (await cache.match(url)) || fetchInto(cache, url)),
  );
  return results.every((r) => r.status === "fulfilled");
}

/** Tell the page whether it can work offline: the shell, then (if it wants it) the decoder. */
async function prepareOffline({ decoder: wanted }, port) {
  const say = (message) => port?.postMessage({ type: "offline-state", version: VERSION, ...message });
  const shell = await ensureCached(PRECACHE);
  const cache = await caches.open(CACHE);
  if (!wanted) {
    await Promise.all(DECODER.map((url) => cache.delete(url))); // carried over from an older version
    return say({ shell, decoder: "not-needed" });
  }
  const held = await Promise.all(DECODER.map((url) => cache.match(url)));
  if (held.every(Boolean)) return say({ shell, decoder: "cached" });
  say({ shell, decoder: "fetching" });
  say({ shell, decoder: (await ensureCached(DECODER)) ? "cached" : "failed" });
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
  if (DECODER.includes(url.pathname)) return decoderFromCache;
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

/** The decoder from this version's cache; fetched into it on first use (and kept offline). */
async function decoderFromCache(request) {
  const path = new URL(request.url).pathname;
  const cache = await caches.open(CACHE);
  const cached = await cache.match(path);
  if (cached) return cached;
  try {
    await fetchInto(cache, path);
  } catch {
    return fetch(request);
  }
  return (await cache.match(path)) ?? fetch(request);
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
