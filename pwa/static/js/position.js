// The phone's position at the moment of an attempt (never tracked in the background).

export const POSITION_TIMEOUT_MS = 15000;
// A fix the phone already holds may be this old when a form opens: on a motorbike, 30 s put the
// last door's position on this one. "Locate again" asks for a new fix (0).
export const POSITION_MAX_AGE_MS = 5000;

/** {position: {lat, lon, accuracy_m}} or {position: null, reason: "denied"|"unavailable"|"timeout"}. */
export function currentPosition({ timeout = POSITION_TIMEOUT_MS, maxAge = POSITION_MAX_AGE_MS, geolocation = globalThis.navigator?.geolocation } = {}) {
  return new Promise((resolve) => {
    if (!geolocation) {
      resolve({ position: null, reason: "unavailable" });
      return;
    }
    geolocation.getCurrentPosition(
      (p) =>
        resolve({
          position: {
            lat: p.coords.latitude,
            lon: p.coords.longitude,
            accuracy_m: Math.round(p.coords.accuracy * 10) / 10,
          },
        }),
      (err) => resolve({ position: null, reason: err.code === 1 ? "denied" : err.code === 3 ? "timeout" : "unavailable" }),
      { enableHighAccuracy: true, timeout, maximumAge: maxAge },
    );
  });
}
