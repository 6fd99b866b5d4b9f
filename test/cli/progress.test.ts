import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { progressLine, terminalProgress } from "../../src/cli/progress.js";

function capture(isTTY: boolean): { out: PassThrough & { isTTY: boolean }; text: () => string } {
  const out = Object.assign(new PassThrough(), { isTTY });
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString("utf8") };
}

test("progress lines: bytes in their size's unit, entries counted, percent of the total", {
  timeout: 5000,
}, () => {
  assert.equal(
    progressLine("snapshot save", 13 * 1024 * 1024, 40 * 1024 * 1024, "bytes"),
    "snapshot save: 13.0 MiB / 40.0 MiB (32%)",
  );
  assert.equal(progressLine("repair", 1200, 5000, "entries"), "repair: 1200 / 5000 entries (24%)");
  assert.equal(progressLine("empty", 0, 0, "entries"), "empty: 0 / 0 entries (100%)");
  // A small snapshot in KiB or bytes, not `0.0 MiB / 0.0 MiB`.
  assert.equal(progressLine("save", 312, 312, "bytes"), "save: 312 B / 312 B (100%)");
  assert.equal(progressLine("save", 1024, 5 * 1024 + 512, "bytes"), "save: 1.0 KiB / 5.5 KiB (18%)");
  assert.equal(progressLine("save", 3 * 1024 ** 3, 6 * 1024 ** 3, "bytes"), "save: 3.0 GiB / 6.0 GiB (50%)");
  assert.equal(progressLine("save", 2048, 0, "bytes"), "save: 2.0 KiB / 0.0 KiB (100%)", "no length known");
});

test("in a log, a small file done in one update prints its line once", { timeout: 5000 }, () => {
  // The one update already printed the final figure: finish() printed it again.
  const log = capture(false);
  const p = terminalProgress({ out: log.out, label: "snapshot save", total: 312, unit: "bytes" });
  p.update(312);
  p.finish();
  assert.equal(log.text(), "snapshot save: 312 B / 312 B (100%)\n");
  // Work that fails before its first update still leaves its figure.
  const failed = capture(false);
  terminalProgress({ out: failed.out, label: "restore", total: 4, unit: "entries" }).finish();
  assert.equal(failed.text(), "restore: 0 / 4 entries (0%)\n");
});

test("on a terminal one line is rewritten; in a log a line at most every logEveryMs", {
  timeout: 5000,
}, () => {
  const tty = capture(true);
  const p = terminalProgress({ out: tty.out, label: "restore", total: 4, unit: "entries" });
  for (const done of [1, 2, 3, 4]) p.update(done);
  p.finish();
  p.finish();
  assert.equal(tty.text().split("\n").length, 2, "one line, closed once");
  assert.ok(tty.text().endsWith("\rrestore: 4 / 4 entries (100%)\x1b[K\n"), JSON.stringify(tty.text()));

  let clock = 0;
  const log = capture(false);
  const q = terminalProgress({
    out: log.out,
    label: "save",
    total: 100,
    unit: "entries",
    logEveryMs: 1000,
    now: () => clock,
  });
  for (let done = 1; done <= 100; done++) {
    clock += 50; // 100 updates over 5 s
    q.update(done);
  }
  q.finish();
  const lines = log.text().trimEnd().split("\n");
  assert.equal(lines.length, 6, lines.join("\n")); // 5 s at one a second, and the final figure
  assert.equal(lines.at(-1), "save: 100 / 100 entries (100%)");
});
