// What to tell the postman about an attempt the server refused: words for each error code in the
// postman's language, and for `invalid`, the server's (translated) message and what to check.
import { MESSAGES, t } from "./i18n.js";

/** The i18n key of the words for an error code: "err_unknown" when the app has none. */
export function refusalKey(code) {
  const key = `err_${code}`;
  return key in MESSAGES.vi ? key : "err_unknown";
}

/** Every path to a leaf of a marshmallow-style `fields` object: {recipient: {id_number: [...]}}. */
function* leafPaths(value, path = []) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) yield* leafPaths(child, [...path, key]);
  } else if (path.length) {
    yield path;
  }
}

/**
 * The i18n keys naming the fields an `invalid` refusal points at, without repeats: each path is
 * named by its deepest part the app has words for (recipient.id_number → field_id_number,
 * position.lat → field_position); parts it has none for are left to the support details.
 */
export function refusedFieldKeys(fields) {
  const keys = [];
  for (const path of leafPaths(fields)) {
    const part = path.findLast((p) => `field_${p}` in MESSAGES.vi);
    if (part && !keys.includes(`field_${part}`)) keys.push(`field_${part}`);
  }
  return keys;
}

/**
 * The words for a refused attempt's error ({code, message, fields} as the outbox keeps it):
 * `text` in the page's language; `fields`, what to check (for `invalid`). The server's message
 * is the text of an `invalid` refusal (it is translated, and may say more than the app's words).
 */
export function describeRefusal(error) {
  const code = error?.code ?? "";
  if (code === "invalid") {
    return { text: error.message || t("err_invalid"), fields: refusedFieldKeys(error.fields).map((k) => t(k)) };
  }
  return { text: t(refusalKey(code)), fields: [] };
}
