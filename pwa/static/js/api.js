// fetch wrapped for the JSON API: errors become ApiError with the server's code and message.

export class ApiError extends Error {
  constructor(status, code, message, fields = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
  get offline() {
    return this.status === 0;
  }
}

/** The ETag the server gave a run, kept in the run itself (so on the phone with it). */
export const RUN_ETAG = "_etag";
const NOT_MODIFIED = Symbol("not modified");

async function getJson(url, { etag = null, extra = {} } = {}) {
  let response;
  const headers = { Accept: "application/json", ...extra };
  if (etag) headers["If-None-Match"] = etag;
  try {
    // no-store: personal data stays out of the HTTP cache; the app keeps the run in IndexedDB.
    response = await fetch(url, { credentials: "same-origin", cache: "no-store", headers });
  } catch (err) {
    throw new ApiError(0, "network", String(err?.message ?? err));
  }
  if (response.status === 304) return NOT_MODIFIED;
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON: a proxy page, a captive portal */
  }
  if (!response.ok || body === null) {
    const e = body?.error ?? {};
    throw new ApiError(response.status || 0, e.code ?? `http_${response.status}`, e.message ?? "", e.fields);
  }
  if (etag !== null && response.headers.get("ETag")) body[RUN_ETAG] = response.headers.get("ETag");
  return body;
}

/** The logged-in user, a fresh CSRF token, the server's time and version. */
export const getSession = () => getJson("/api/v1/session");

/** The header telling the server how many attempts wait in the outbox (as outbox.js sends it). */
export const OUTBOX_HEADER = "X-Trao-Outbox";

/** Today's runs of the logged-in postman, with settings, reasons and relations. Given the run the
 * phone holds, asks with its ETag: unchanged, the server answers 304 (a few hundred bytes on a
 * slow link instead of kilobytes) and `held` comes back. `waiting`: the attempts in the outbox,
 * told to the server (closing the run at the office asks for a confirmation over them). */
export async function getRunsToday(held = null, { waiting = null } = {}) {
  const extra = Number.isInteger(waiting) && waiting >= 0 ? { [OUTBOX_HEADER]: String(waiting) } : {};
  const body = await getJson("/api/v1/runs/today", { etag: held?.[RUN_ETAG] ?? "", extra });
  return body === NOT_MODIFIED ? held : body;
}
