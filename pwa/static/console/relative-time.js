// "5 phút trước": how long ago something was, in the page's language (pure: node --test runs it).

/**
 * How long before `now` `then` was, with `format` (an Intl.RelativeTimeFormat). `now` is the
 * server's clock as the page last heard it, not this computer's, which may be wrong.
 */
export function ago(then, now, format = new Intl.RelativeTimeFormat("vi", { numeric: "always" })) {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return format.format(-seconds, "second");
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return format.format(-minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 48) return format.format(-hours, "hour");
  return format.format(-Math.round(hours / 24), "day");
}
