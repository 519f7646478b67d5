// The position of an attempt: a recent fix at most, a new one when the postman asks again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { currentPosition, POSITION_MAX_AGE_MS } from "../../pwa/static/js/position.js";

function fakeGeolocation(result) {
  const asked = [];
  return {
    asked,
    getCurrentPosition(ok, fail, options) {
      asked.push(options);
      if (result.error) fail(result.error);
      else ok({ coords: result.coords });
    },
  };
}

test("a fix at most a few seconds old, never the 30 s that put the last door's position on this one", async () => {
  const geo = fakeGeolocation({ coords: { latitude: 21.85, longitude: 106.76, accuracy: 12.34 } });
  const { position } = await currentPosition({ geolocation: geo });
  assert.deepEqual(position, { lat: 21.85, lon: 106.76, accuracy_m: 12.3 });
  assert.equal(geo.asked[0].maximumAge, POSITION_MAX_AGE_MS);
  assert.ok(POSITION_MAX_AGE_MS <= 5000);
  assert.equal(geo.asked[0].enableHighAccuracy, true);
});

test("asking again wants a new fix", async () => {
  const geo = fakeGeolocation({ coords: { latitude: 1, longitude: 2, accuracy: 3 } });
  await currentPosition({ geolocation: geo, maxAge: 0 });
  assert.equal(geo.asked[0].maximumAge, 0);
});

test("no fix says why", async () => {
  for (const [code, reason] of [[1, "denied"], [2, "unavailable"], [3, "timeout"]]) {
    const geo = fakeGeolocation({ error: { code } });
    assert.deepEqual(await currentPosition({ geolocation: geo }), { position: null, reason });
  }
  assert.deepEqual(await currentPosition({ geolocation: null }), { position: null, reason: "unavailable" });
});
