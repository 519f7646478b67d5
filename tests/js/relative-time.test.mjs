// The live page's "last seen": how long ago, counted on the server's clock, in Vietnamese.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ago } from "../../pwa/static/console/relative-time.js";

const NOW = new Date("2026-11-23T02:00:00Z");
const before = (ms) => new Date(NOW.getTime() - ms);

test("minutes ago, in Vietnamese by default", () => {
  assert.equal(ago(before(5 * 60000), NOW), "5 phút trước");
  assert.equal(ago(before(20 * 1000), NOW), "20 giây trước");
  assert.equal(ago(before(3 * 3600000), NOW), "3 giờ trước");
  assert.equal(ago(before(3 * 86400000), NOW), "3 ngày trước");
});

test("a time after the server's now (a clock ahead) reads as now, never in the future", () => {
  assert.equal(ago(new Date(NOW.getTime() + 90000), NOW), "0 giây trước");
});

test("in the page's language when given", () => {
  const en = new Intl.RelativeTimeFormat("en", { numeric: "always" });
  assert.equal(ago(before(5 * 60000), NOW, en), "5 minutes ago");
});
