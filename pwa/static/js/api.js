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

async function getJson(url, { cache = "no-store" } = {}) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", cache, headers: { Accept: "application/json" } });
  } catch (err) {
    throw new ApiError(0, "network", String(err?.message ?? err));
  }
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
  return body;
}

/** The logged-in user, a fresh CSRF token, the server's time and version. */
export const getSession = () => getJson("/api/v1/session");

/** Today's runs of the logged-in postman, with settings, reasons and relations.
 * Revalidated (ETag): when the run has not changed, the server answers 304 and the browser hands
 * back the body it holds — a few hundred bytes on the link instead of kilobytes. */
export const getRunsToday = () => getJson("/api/v1/runs/today", { cache: "no-cache" });
