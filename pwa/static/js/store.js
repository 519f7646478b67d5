// IndexedDB, through idb: the run of each user, the outbox, and a few settings.
import { openDB } from "/static/vendor/idb/index.js";

const DB_NAME = "trao";
const DB_VERSION = 1;

let dbPromise;
function db() {
  dbPromise ??= openDB(DB_NAME, DB_VERSION, {
    upgrade(database) {
      database.createObjectStore("runs", { keyPath: "user_id" });
      const outbox = database.createObjectStore("outbox", { keyPath: "attempt_id" });
      outbox.createIndex("user_id", "user_id");
      database.createObjectStore("kv");
    },
  });
  return dbPromise;
}

/** Today's runs as last fetched for a user: {user_id, fetched_at, data}. */
export async function loadRun(userId) {
  return (await db()).get("runs", userId);
}

/** fetchedAt: when the server sent it (kept as it was when only the outbox's receipts changed it). */
export async function saveRun(userId, data, fetchedAt = Date.now()) {
  await (await db()).put("runs", { user_id: userId, fetched_at: fetchedAt, data });
}

export async function getValue(key) {
  return (await db()).get("kv", key);
}

export async function setValue(key, value) {
  await (await db()).put("kv", value, key);
}

export async function deleteValue(key) {
  await (await db()).delete("kv", key);
}

/** The outbox's store, as outbox.js expects it. */
export const outboxStore = {
  async put(entry) {
    await (await db()).put("outbox", entry);
  },
  async all() {
    return (await db()).getAll("outbox");
  },
  async delete(id) {
    await (await db()).delete("outbox", id);
  },
};
