// Keeping the proofs on the phone: ask the browser not to evict the app's storage, and warn
// before the phone runs out of room. Pure logic: navigator.storage is injected, so node --test
// can drive it; app.js wires it and ui/storage-notice.js shows what it says.

const MB = 1024 * 1024;
// Measured (issue 9): 500 attempts — 400 delivered with signature and photos, 100 failed — took
// 175 MB of IndexedDB, about 0.35 MB an attempt.
export const BYTES_PER_ATTEMPT = 0.35 * MB;
// Warn when less than this is left: room for a whole day's run of about 500 attempts (175 MB)
// plus some margin. An absolute figure, not a share of the quota: Chrome derives the quota from
// the disk's free space, so "10 % of the quota" would mean gigabytes on a large phone and only
// a handful of proofs on a small one.
export const LOW_SPACE_BYTES = 200 * MB;

/** Whether the app runs installed (from the home screen), not in a browser tab. */
export function isInstalled(win = globalThis) {
  try {
    if (win.matchMedia?.("(display-mode: standalone)").matches) return true;
    if (win.matchMedia?.("(display-mode: fullscreen)").matches) return true;
  } catch {
    /* no media queries: not a browser window */
  }
  return win.navigator?.standalone === true; // iOS Safari's own flag
}

/** Free room from an estimate: {usage, quota, free, low, room} or null when unknown. */
export function spaceFrom(estimate, lowBytes = LOW_SPACE_BYTES) {
  const quota = Number(estimate?.quota);
  const usage = Number(estimate?.usage ?? 0);
  if (!Number.isFinite(quota) || quota <= 0 || !Number.isFinite(usage)) return null;
  const free = Math.max(0, quota - usage);
  return { usage, quota, free, low: free < lowBytes, room: Math.floor(free / BYTES_PER_ATTEMPT) };
}

/**
 * What to tell the postman, most urgent first: [{kind, tone, key, vars}].
 * persistence: "granted" | "refused" | "unknown" | "unsupported"; space: from spaceFrom();
 * pending: attempts still waiting to be sent.
 */
export function storageNotices({ persistence, space, pending = 0 }) {
  const notices = [];
  if (space?.low) {
    const vars = { free: Math.floor(space.free / MB), n: pending, room: space.room };
    notices.push({ kind: "low-space", tone: "bad", key: pending ? "storage_low_pending" : "storage_low", vars });
  }
  if (persistence === "refused") notices.push({ kind: "not-kept", tone: "warn", key: "storage_not_kept", vars: {} });
  else if (persistence === "granted") notices.push({ kind: "kept", tone: "ok", key: "storage_kept", vars: {} });
  return notices;
}

export class StorageGuard {
  /**
   * storage: navigator.storage (or a fake); installed(): whether the app runs installed;
   * lowBytes: the warning threshold.
   */
  constructor({ storage, installed = () => false, lowBytes = LOW_SPACE_BYTES }) {
    this.storage = storage;
    this.installed = installed;
    this.lowBytes = lowBytes;
    this.persistence = storage?.persisted ? "unknown" : "unsupported";
    this.asked = false;
    this.space = null;
  }

  /** At start: what the browser already grants; asks only when the app runs installed. */
  async start() {
    if (this.persistence === "unsupported") return this.persistence;
    try {
      if (await this.storage.persisted()) this.persistence = "granted";
    } catch {
      this.persistence = "unsupported";
      return this.persistence;
    }
    if (this.persistence !== "granted" && this.installed()) await this.ask();
    return this.persistence;
  }

  /**
   * Ask the browser to keep the app's data (Chrome grants it to installed apps without a
   * prompt; Firefox asks the user once). Asks once per app start unless `again`.
   */
  async ask({ again = false } = {}) {
    if (this.persistence === "unsupported" || this.persistence === "granted") return this.persistence;
    if (this.asked && !again) return this.persistence;
    if (!this.storage.persist) return this.persistence;
    this.asked = true;
    try {
      this.persistence = (await this.storage.persist()) ? "granted" : "refused";
    } catch {
      this.persistence = "refused";
    }
    return this.persistence;
  }

  /** An attempt was queued: the first one is when unsent proof starts to matter. */
  queued() {
    return this.ask();
  }

  /** The app was just installed: the browser may grant now what it refused before. */
  installedNow() {
    return this.ask({ again: true });
  }

  /** Measure the room left (null when the browser cannot tell). */
  async measure() {
    if (!this.storage?.estimate) return (this.space = null);
    try {
      this.space = spaceFrom(await this.storage.estimate(), this.lowBytes);
    } catch {
      this.space = null;
    }
    return this.space;
  }

  /** What to show now, given the attempts still waiting. */
  notices(pending) {
    return storageNotices({ persistence: this.persistence, space: this.space, pending });
  }
}
