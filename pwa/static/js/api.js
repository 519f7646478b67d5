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

async function getJson(url, { etag = null } = {}) {
  let response;
  const headers = { Accept: "application/json" };
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

/** Today's runs of the logged-in postman, with settings, reasons and relations. Given the run the
 * phone holds, asks with its ETag: unchanged, the server answers 304 (a few hundred bytes on a
 * slow link instead of kilobytes) and `held` comes back. */
export async function getRunsToday(held = null) {
  const body = await getJson("/api/v1/runs/today", { etag: held?.[RUN_ETAG] ?? "" });
  return body === NOT_MODIFIED ? held : body;
}
