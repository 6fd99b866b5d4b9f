// The simulator's trace viewer in a real browser: `sim --seed S --html FILE` writes one page that opens
// from a file with no network; its timeline shows every fault of the run (counted against the run's own
// statistics) and, for a seed a mutation breaks, the violation where it happened. Uses no ports.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import { pathToFileURL } from "node:url";
import { openBrowser, SKIP_WITHOUT_CHROMIUM, screenshot } from "./browser.js";

const SIM = resolve("dist/src/sim/cli.js");
const TEST_TIMEOUT_MS = 120_000;
const SIM_TIMEOUT_MS = 60_000;
/** Kinds the simulator counts as partitions (each cut of a flap or swizzle is one). */
const PARTITION_KINDS = [
  "partition",
  "cutOneWay",
  "cutNodeOneWay",
  "star",
  "bridge",
  "flapCut",
  "isolate",
  "swizzle",
];

const dir = mkdtempSync(join(tmpdir(), "raftstack-trace-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the simulator CLI with --html; returns the page's path and the run's printed report. */
function simHtml(name: string, args: string[]): { path: string; report: string } {
  const path = join(dir, name);
  const run = spawnSync(process.execPath, [SIM, ...args, "--html", path], {
    encoding: "utf8",
    timeout: SIM_TIMEOUT_MS,
  });
  assert.match(run.stdout, /trace page .* KiB/, run.stderr);
  return { path, report: run.stdout };
}

function count(report: string, what: string): number {
  const m = new RegExp(`(\\d+) ${what}`).exec(report);
  assert.ok(m, `the report states ${what}`);
  return Number(m[1]);
}

test("the page is self-contained: no network fetches, uPlot and the data inlined", () => {
  const { path } = simHtml("seed3.html", ["--seed", "3"]);
  const html = readFileSync(path, "utf8");
  assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href="(?!data:)/, "no external script or style");
  assert.match(html, /uPlot/);
  assert.match(html, /id="trace-data"/);
});

test("trace viewer: the timeline shows every fault of a seed", {
  timeout: TEST_TIMEOUT_MS,
  skip: SKIP_WITHOUT_CHROMIUM,
}, async () => {
  // Seed 2 runs on the WAL disk: crashes, pauses, partitions, power cuts and a torn WAL tail.
  const { path, report } = simHtml("seed2.html", ["--seed", "2"]);
  assert.match(report, /^seed 2: ok/);
  const crashes = count(report, "crashes");
  const pauses = count(report, "pauses");
  const partitions = count(report, "partitions");
  const powerCuts = count(report, "power cuts");
  const tornTails = count(report, "torn WAL tails cut");
  assert.ok(crashes > 0 && pauses > 0 && partitions > 0 && powerCuts > 0 && tornTails > 0, report);

  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    // Any request leaving the page would fail the test: the file must need nothing else.
    const requests: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith("file:") && !r.url().startsWith("data:")) requests.push(r.url());
    });
    await page.goto(pathToFileURL(path).href);
    await page.locator("#overview svg").waitFor();
    assert.match((await page.locator("#verdict").textContent()) ?? "", /ok/);
    const faults = (kind: string) => page.locator(`#overview .fault[data-kind="${kind}"]`).count();
    assert.equal(await faults("crash"), crashes);
    assert.equal(await faults("pause"), pauses);
    assert.equal(await faults("powerCut"), powerCuts);
    assert.equal(await faults("tornTail"), tornTails);
    let cuts = 0;
    for (const kind of PARTITION_KINDS) cuts += await faults(kind);
    assert.equal(cuts, partitions);
    // The events list names them too; each node has a lane with its roles and terms.
    assert.equal(await page.locator('#events li.fault-item[data-kind="crash"]').count(), crashes);
    for (const id of [1, 2, 3]) {
      assert.ok((await page.locator(`#overview rect.seg[data-node="${id}"]`).count()) > 0, `node ${id} lane`);
    }
    assert.ok((await page.locator('#overview rect.seg[data-role="leader"]').count()) > 0, "leaders shown");
    // Jump to the first crash: the detail timeline shows it, messages in flight and client operations.
    await page.locator('#events li.fault-item[data-kind="crash"]').first().click();
    await page.locator('#timeline .fault[data-kind="crash"]').first().waitFor();
    assert.ok((await page.locator("#timeline line.msg").count()) > 0, "messages drawn");
    assert.ok((await page.locator("#timeline rect.op").count()) > 0, "client operations drawn");
    await screenshot(
      page,
      "trace-seed2.png",
      "trace viewer of sim seed 2 (WAL disk), cursor at its first crash",
    );
    assert.deepEqual(requests, [], "no network requests");
    assert.deepEqual(errors, [], "no errors in the browser console");
  } finally {
    await browser.close();
  }
});

test("trace viewer: a mutation seed's violation is marked where it happened", {
  timeout: TEST_TIMEOUT_MS,
  skip: SKIP_WITHOUT_CHROMIUM,
}, async () => {
  // grantTwoVotesPerTerm lets two leaders win one term: seed 1 catches it (test/sim/mutations.test.ts).
  const { path, report } = simHtml("violation.html", ["--seed", "1", "--mutation", "grantTwoVotesPerTerm"]);
  assert.match(report, /VIOLATION of election safety/);
  const leaders = /nodes (\d+) and (\d+) both led term (\d+)/.exec(report);
  assert.ok(leaders, report);
  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    await page.goto(pathToFileURL(path).href);
    await page.locator("#overview svg").waitFor();
    assert.match((await page.locator("#verdict").textContent()) ?? "", /VIOLATION of election safety/);
    assert.match((await page.locator("#violation").textContent()) ?? "", /both led term/);
    // The page opens at the violation: the detail window holds its marker.
    const marker = page.locator('#timeline line.violation[data-invariant="election safety"]');
    assert.equal(await marker.count(), 1);
    assert.equal(await page.locator("#overview line.violation").count(), 1);
    // Both leaders of that term are drawn as leaders in it.
    const term = leaders[3];
    for (const id of [leaders[1], leaders[2]]) {
      assert.ok(
        (await page
          .locator(`#overview rect.seg[data-node="${id}"][data-role="leader"][data-term="${term}"]`)
          .count()) > 0,
        `node ${id} shown leading term ${term}`,
      );
    }
    await screenshot(
      page,
      "trace-violation.png",
      `trace viewer of sim seed 1 with --mutation grantTwoVotesPerTerm: nodes ${leaders[1]} and ${leaders[2]} both lead term ${term}, marked in red`,
    );
    assert.deepEqual(errors, [], "no errors in the browser console");
  } finally {
    await browser.close();
  }
});
