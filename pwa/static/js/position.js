// The phone's position at the moment of an attempt (never tracked in the background).

export const POSITION_TIMEOUT_MS = 15000;

/** {position: {lat, lon, accuracy_m}} or {position: null, reason: "denied"|"unavailable"|"timeout"}. */
export function currentPosition(timeout = POSITION_TIMEOUT_MS) {
  return new Promise((resolve) => {
    if (!("geolocation" in navigator)) {
      resolve({ position: null, reason: "unavailable" });
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) =>
        resolve({
          position: {
            lat: p.coords.latitude,
            lon: p.coords.longitude,
            accuracy_m: Math.round(p.coords.accuracy * 10) / 10,
          },
        }),
      (err) => resolve({ position: null, reason: err.code === 1 ? "denied" : err.code === 3 ? "timeout" : "unavailable" }),
      { enableHighAccuracy: true, timeout, maximumAge: 30000 },
    );
  });
}
