// Formatting and text helpers shared by the screens: money, search folding, device time.

/** Whole đồng with dot thousands separators, as written in Vietnam: 34.000 ₫. */
export function formatVnd(amount) {
  const n = Math.round(Number(amount) || 0);
  const sign = n < 0 ? "-" : "";
  return sign + String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ".") + " ₫";
}

/** Text without diacritics (đ → d), lower case, spacing collapsed: for searching and names. */
export function fold(text) {
  return String(text ?? "")
    .normalize("NFD")
    .replace(/\p{M}/gu, "")
    .replace(/đ/g, "d")
    .replace(/Đ/g, "D")
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .join(" ");
}

/** Whether every word of the query appears in one of the texts (diacritics-insensitive). */
export function matchesQuery(query, texts) {
  const words = fold(query).split(" ").filter(Boolean);
  if (!words.length) return true;
  const haystack = texts.map(fold).join(" | ").replace(/\s/g, " ");
  const compact = haystack.replace(/ /g, "");
  return words.every((w) => haystack.includes(w) || compact.includes(w));
}

/** The phone's local time as ISO 8601 with its UTC offset: 2026-11-23T09:41:07.123+07:00. */
export function localIsoTime(date = new Date()) {
  const pad = (n, w = 2) => String(Math.abs(n)).padStart(w, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `.${pad(date.getMilliseconds(), 3)}${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  );
}

/**
 * Bytes as megabytes for the postman (1 MB = 1,000,000 bytes), in the page's language: "48 MB",
 * "4,8 MB" in Vietnamese; never "0 MB" while something is left.
 */
export function formatMegabytes(bytes, lang = "vi") {
  const mb = Math.max(0, Number(bytes) || 0) / 1e6;
  const shown = mb >= 10 ? Math.round(mb) : mb > 0 ? Math.max(0.1, Math.round(mb * 10) / 10) : 0;
  return `${shown.toLocaleString(lang, { maximumFractionDigits: 1 })} MB`;
}

/** Hex SHA-256 of a string or a Blob/ArrayBuffer, with the browser's (or Node's) WebCrypto. */
export async function sha256Hex(data) {
  let bytes;
  if (typeof data === "string") bytes = new TextEncoder().encode(data);
  else if (data && typeof data.arrayBuffer === "function") bytes = await data.arrayBuffer();
  else bytes = data;
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A random UUID v4 (crypto.randomUUID needs a secure context; 127.0.0.1 and https are). */
export function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
