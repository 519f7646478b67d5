// Trao's service worker (a module): precaches the app shell under a versioned cache, serves it
// offline, and sends the outbox through Background Sync. Rendered by backend/delivery/pwa.py.
// This file only wires events; the strategies are the named functions below.
import { Outbox } from "/static/js/outbox.js";
import { getValue, outboxStore } from "/static/js/store.js";

const VERSION = {{ version|tojson }};
const CACHE_PREFIX = "trao-shell-";
const CACHE = CACHE_PREFIX + VERSION;
const PRECACHE = {{ precache|tojson }};
const SHELL_URL = {{ shell_url|tojson }};
const SYNC_TAG = "trao-outbox";
const CLIENT_FLUSH_TIMEOUT_MS = 60000;

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
  if (event.tag === SYNC_TAG) event.waitUntil(syncOutbox());
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

/** Ask an open app to send its outbox; with none open, send it from here. */
async function syncOutbox() {
  const windows = await self.clients.matchAll({ type: "window" });
  if (windows.length) return askClientToFlush(windows[0]);
  const user = await getValue("lastUser");
  if (!user) return;
  const outbox = new Outbox({ store: outboxStore, fetch: (...args) => fetch(...args) });
  const result = await outbox.flush(user.id, { force: true });
  if (result.retry || result.offline) throw new Error("outbox not sent yet"); // the browser retries
}

function askClientToFlush(client) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(resolve, CLIENT_FLUSH_TIMEOUT_MS);
    channel.port1.onmessage = () => {
      clearTimeout(timer);
      resolve();
    };
    client.postMessage({ type: "flush" }, [channel.port2]);
  });
}
