// The outbox: every attempt is written whole (meta + files) before anything is sent, sent one at
// a time, and removed only when the server acknowledges it. Pure logic: the store and fetch are
// injected, so node --test can drive it.
//
// While a flush runs it reports its progress (attempts and bytes left, the attempt on the wire)
// from counts it keeps itself, so a screen can count down without reading the store again; an
// attempt added (or sent again) meanwhile joins the running flush, at the end of its queue.

export const MAX_BACKOFF_SECONDS = 300;
export const SESSION_URL = "/api/v1/session";
export const ATTEMPTS_URL = "/api/v1/attempts";
// The phone's clock as it sends an attempt: the server tells a wrong clock from an attempt that
// waited offline by it. A header, never in the meta, whose bytes identify the attempt on replay.
export const SENT_AT_HEADER = "X-Trao-Sent-At";
// How many attempts still wait in the outbox beside the one a request carries: the console asks
// for a confirmation before closing a run the phone still holds attempts of.
export const OUTBOX_HEADER = "X-Trao-Outbox";
// Error codes that mean "try again later", not "this attempt is wrong".
const RETRY_CODES = new Set(["csrf_failed", "envelope_busy"]);

/** Seconds to wait after the n-th failed try: min(2^n, 300). */
export function backoffSeconds(n) {
  return Math.min(2 ** Math.max(0, n), MAX_BACKOFF_SECONDS);
}

/** What a response means for the attempt: "ack" | "login" | "retry" | "rejected". */
export function classifyResponse(status, code = null) {
  if (status === 200 || status === 201) return "ack";
  if (status === 401) return "login";
  if (status === 408 || status === 429 || status >= 500 || status < 400) return "retry";
  if (RETRY_CODES.has(code)) return "retry";
  return "rejected";
}

/**
 * A clock reading as ISO 8601 with the phone's own offset ("2026-11-23T09:00:00.000+07:00"), or
 * null when the clock gives nothing a server could read (then no header is sent).
 */
export function clockReading(ms, offsetMinutes = -new Date(ms).getTimezoneOffset()) {
  if (!Number.isFinite(ms) || !Number.isFinite(offsetMinutes)) return null;
  const local = new Date(ms + offsetMinutes * 60000);
  if (Number.isNaN(local.getTime()) || local.getUTCFullYear() > 9999 || local.getUTCFullYear() < 1) return null;
  const abs = Math.abs(Math.round(offsetMinutes));
  const pad = (n) => String(n).padStart(2, "0");
  const sign = offsetMinutes < 0 ? "-" : "+";
  return `${local.toISOString().slice(0, 23)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/** Bytes an attempt puts on the wire, near enough: its files and its meta's JSON. */
export function entryBytes(entry) {
  const files = (entry.files ?? []).reduce((sum, f) => sum + (f.blob?.size ?? 0), 0);
  return files + new TextEncoder().encode(JSON.stringify(entry.meta ?? {})).length;
}

/** A whole attempt as the outbox keeps it. `files`: [{field, blob, sha256, filename}]. */
export function makeEntry({ userId, meta, files, now = Date.now() }) {
  const entry = {
    attempt_id: meta.attempt_id,
    user_id: userId,
    stop_id: meta.stop_id,
    envelope_code: meta.envelope_code,
    outcome: meta.outcome,
    meta: { ...meta, files: files.map((f) => ({ field: f.field, sha256: f.sha256 })) },
    files,
    state: "pending", // pending | rejected | dismissed (kept, never sent)
    tries: 0,
    next_at: 0,
    created_at: now,
    error: null,
  };
  entry.bytes = entryBytes(entry); // kept, so counting what is left never touches the blobs again
  return entry;
}

/** An entry's bytes: kept by makeEntry, counted again for entries queued before it kept them. */
function sizeOf(entry) {
  return entry.bytes ?? entryBytes(entry);
}

/** What a progress report says about the attempt being sent (no blobs, no ID number). */
function describe(entry, bytes) {
  return { attempt_id: entry.attempt_id, envelope_code: entry.envelope_code, outcome: entry.outcome, bytes };
}

async function readJson(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

export class Outbox {
  /**
   * store: {put(entry), all(), delete(id)} (IndexedDB in the app, a Map in tests);
   * fetch: the fetch function; now: ms clock; onChange(): after any change;
   * onAck(entry, body): after the server accepted an attempt (and it left the store);
   * onSettled(entry, verdict): after each attempt sent, "ack" or "rejected" (entry as it is now);
   * onProgress(progress | null): while a flush sends (see `progress`), null when it ends.
   */
  constructor({ store, fetch, now = () => Date.now(), onChange = () => {}, onAck = () => {},
    onSettled = () => {}, onProgress = () => {} }) {
    this.store = store;
    this.fetch = fetch;
    this.now = now;
    this.onChange = onChange;
    this.onAck = onAck;
    this.onSettled = onSettled;
    this.onProgress = onProgress;
    this.loginRequired = false;
    this.running = null;
    // The running flush's queue: {userId, entries, ids}; null between flushes.
    this.queue = null;
    /**
     * The running flush's progress, or null: {total, done, sent, rejected, bytesTotal, bytesLeft,
     * current}. total: attempts in this flush (it grows when one is added meanwhile); done: those
     * settled (acknowledged or refused); bytesLeft: what the attempts not yet settled weigh, the
     * one on the wire included; current: {attempt_id, envelope_code, outcome, bytes} or null.
     */
    this.progress = null;
  }

  /** Write the whole attempt before anything is sent; a flush running for its user takes it too. */
  async add(entry) {
    await this.store.put(entry);
    this._join(entry);
    this.onChange();
    return entry;
  }

  /** Queue an entry on the running flush (once), counting it in the progress. */
  _join(entry) {
    const queue = this.queue;
    if (!queue || entry.state !== "pending" || queue.ids.has(entry.attempt_id)) return;
    if (queue.userId != null && entry.user_id !== queue.userId) return;
    queue.ids.add(entry.attempt_id);
    queue.entries.push(entry);
    if (this.progress) {
      const bytes = sizeOf(entry);
      this.progress.total += 1;
      this.progress.bytesTotal += bytes;
      this.progress.bytesLeft += bytes;
      this._report();
    }
  }

  _report() {
    const p = this.progress;
    this.onProgress(p && { ...p, current: p.current && { ...p.current } });
  }

  /** The entries of one user, oldest first. */
  async entries(userId) {
    const all = await this.store.all();
    return all
      .filter((e) => userId == null || e.user_id === userId)
      .sort((a, b) => a.created_at - b.created_at);
  }

  async _find(attemptId) {
    return (await this.store.all()).find((e) => e.attempt_id === attemptId) ?? null;
  }

  /**
   * Put a rejected (or dismissed) attempt back in the queue, due now (after the cause was fixed
   * on the server). Returns whether it was queued.
   */
  async retry(attemptId) {
    const entry = await this._find(attemptId);
    if (!entry || entry.state === "pending") return false;
    Object.assign(entry, { state: "pending", tries: 0, next_at: 0, error: null, last_error: null });
    await this.store.put(entry);
    this._join(entry);
    this.onChange();
    return true;
  }

  /**
   * The postman has seen a rejected attempt and leaves it: it is kept on the phone (the evidence
   * is never deleted by a click) but never sent again, nor counted or shown. Only a rejected
   * attempt can be dismissed. Returns whether it was.
   */
  async dismiss(attemptId) {
    const entry = await this._find(attemptId);
    if (!entry || entry.state !== "rejected") return false;
    Object.assign(entry, { state: "dismissed", dismissed_at: this.now() });
    // A dismissed attempt is never sent: its ID number would only wait on the phone in clear.
    const recipient = entry.meta?.recipient;
    if (recipient?.id_number) {
      recipient.id_last4 = String(recipient.id_number).slice(-4);
      recipient.id_number = null;
    }
    await this.store.put(entry);
    this.onChange();
    return true;
  }

  /** Send what is due, one attempt at a time; concurrent calls share one run. */
  flush(userId, { force = false } = {}) {
    if (!this.running) {
      this.running = this._flush(userId, force).finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  async _flush(userId, force) {
    const result = { sent: 0, rejected: 0, retry: 0, login: false, offline: false };
    // Open the queue before reading the store: an attempt added during the read is not lost,
    // and one the read also returns is not queued twice.
    const queue = { userId, entries: [], ids: new Set() };
    this.queue = queue;
    try {
      const pending = (await this.entries(userId)).filter((e) => e.state === "pending");
      const due = pending.filter((e) => force || e.next_at <= this.now());
      queue.later = pending.length - due.length; // waiting for their backoff: not in this flush
      for (const entry of due) {
        if (!queue.ids.has(entry.attempt_id)) queue.entries.push(entry);
        queue.ids.add(entry.attempt_id);
      }
      queue.entries.sort((a, b) => a.created_at - b.created_at);
      if (!queue.entries.length) return result;
      return await this._sendAll(queue, userId, result);
    } finally {
      this.queue = null;
      if (this.progress) {
        this.progress = null;
        this._report();
      }
    }
  }

  async _sendAll(queue, userId, result) {
    // A cached app shell holds no fresh CSRF token: ask the session for one before sending.
    let csrf;
    try {
      const response = await this.fetch(SESSION_URL, { credentials: "same-origin", cache: "no-store" });
      if (response.status === 401) return this._needLogin(result);
      if (!response.ok) {
        result.offline = true;
        return result;
      }
      const session = await readJson(response);
      if (userId != null && session?.user?.id !== userId) return this._needLogin(result);
      csrf = session?.csrf_token;
    } catch {
      result.offline = true;
      return result;
    }
    this.loginRequired = false;
    const bytesTotal = queue.entries.reduce((sum, e) => sum + sizeOf(e), 0);
    const progress = { total: queue.entries.length, done: 0, sent: 0, rejected: 0, bytesTotal, bytesLeft: bytesTotal, current: null };
    this.progress = progress;
    this._report();
    // Not for…of over a copy: attempts added meanwhile are pushed onto queue.entries.
    for (let i = 0; i < queue.entries.length; i += 1) {
      const entry = queue.entries[i];
      const bytes = sizeOf(entry);
      progress.current = describe(entry, bytes);
      this._report();
      const verdict = await this._send(entry, csrf, (queue.later ?? 0) + queue.entries.length - i - 1);
      progress.current = null;
      if (verdict === "ack" || verdict === "rejected") {
        progress.done += 1;
        progress.bytesLeft = Math.max(0, progress.bytesLeft - bytes);
        if (verdict === "ack") {
          result.sent += 1;
          progress.sent += 1;
        } else {
          result.rejected += 1;
          progress.rejected += 1;
        }
        this.onSettled(entry, verdict);
        this._report();
      } else if (verdict === "login") {
        return this._needLogin(result);
      } else {
        result.retry += 1;
        break; // the network or the server is failing: wait for the backoff
      }
    }
    this.onChange();
    return result;
  }

  _needLogin(result) {
    this.loginRequired = true;
    result.login = true;
    this.onChange();
    return result;
  }

  async _send(entry, csrf, waiting = null) {
    const body = new FormData();
    body.append("meta", JSON.stringify(entry.meta));
    for (const file of entry.files) body.append(file.field, file.blob, file.filename);
    const headers = { "X-CSRFToken": csrf ?? "", Accept: "application/json" };
    const sentAt = clockReading(this.now());
    if (sentAt) headers[SENT_AT_HEADER] = sentAt;
    if (Number.isInteger(waiting) && waiting >= 0) headers[OUTBOX_HEADER] = String(waiting);
    let response;
    try {
      response = await this.fetch(ATTEMPTS_URL, { method: "POST", body, credentials: "same-origin", headers });
    } catch {
      await this._later(entry, { code: "network", message: "" });
      return "retry";
    }
    const json = await readJson(response);
    const error = json?.error ?? null;
    const verdict = classifyResponse(response.status, error?.code);
    if (verdict === "ack") {
      await this.store.delete(entry.attempt_id);
      await this.onAck(entry, json);
    } else if (verdict === "rejected") {
      entry.state = "rejected";
      entry.rejected_at = this.now();
      entry.error = {
        status: response.status,
        code: error?.code ?? `http_${response.status}`,
        message: error?.message ?? "",
        fields: error?.fields ?? {},
      };
      await this.store.put(entry);
    } else if (verdict === "retry") {
      await this._later(entry, { status: response.status, code: error?.code ?? `http_${response.status}` });
    }
    return verdict;
  }

  async _later(entry, error) {
    entry.tries += 1;
    entry.next_at = this.now() + backoffSeconds(entry.tries) * 1000;
    entry.last_error = error;
    await this.store.put(entry);
  }
}
