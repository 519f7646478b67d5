// What the service worker's "offline-state" answers mean for the postman's indicator.
import { test } from "node:test";
import assert from "node:assert/strict";
import { offlineState } from "../../pwa/static/js/ui/offline-ready.js";

test("ready once the shell is cached, on a phone that needs no decoder", () => {
  assert.equal(offlineState({ shell: true, decoder: "not-needed" }), "ready");
});

test("without a native detector, ready only once the decoder is cached too", () => {
  assert.equal(offlineState({ shell: true, decoder: "fetching" }), "scanner-pending");
  assert.equal(offlineState({ shell: true, decoder: "failed" }), "scanner-missing");
  assert.equal(offlineState({ shell: true, decoder: "cached" }), "ready");
});

test("not ready while the shell is not all cached, whatever the decoder", () => {
  for (const decoder of ["not-needed", "fetching", "failed", "cached"]) {
    assert.equal(offlineState({ shell: false, decoder }), "not-ready");
  }
});
