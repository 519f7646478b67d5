// The reports page's export progress: how much of a file has come, by lines or by bytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { filename, fraction } from "../../pwa/static/console/reports.js";

test("a CSV's progress counts its lines against the lines announced", () => {
  assert.equal(fraction({ bytes: 500, totalBytes: 0, lines: 25, totalLines: 100 }), 0.25);
  assert.equal(fraction({ bytes: 900, totalBytes: 0, lines: 120, totalLines: 100 }), 1);
});

test("an XLSX's progress counts bytes against its Content-Length", () => {
  assert.equal(fraction({ bytes: 300, totalBytes: 1200, lines: 0, totalLines: 0 }), 0.25);
});

test("an unknown size is no fraction (the bar stays indeterminate)", () => {
  assert.equal(fraction({ bytes: 300, totalBytes: 0, lines: 3, totalLines: 0 }), null);
});

test("the file's name comes from Content-Disposition", () => {
  const header = 'attachment; filename="trao-report-2025-11-01-2025-11-30.xlsx"';
  assert.equal(filename(header, "x"), "trao-report-2025-11-01-2025-11-30.xlsx");
  assert.equal(filename(null, "trao-report"), "trao-report");
});
