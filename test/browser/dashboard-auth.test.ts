// The dashboard on nodes started with --auth-token-file (3 node processes): the page asks for a token
// after its stream is refused, a read token shows every member live (the node reads its peers'
// summaries with the viewer's token), and a stream read from another member's origin passes the
// CORS preflight. Ports 19420-19459 belong to this file (peers 19421/3/5, clients 19431/3/5).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, test } from "node:test";
import type { Page } from "playwright-core";
import { openBrowser, SKIP_WITHOUT_CHROMIUM, screenshot } from "./browser.js";

const BIN = resolve("bin/raftstack.js");
const TEST_TIMEOUT_MS = 90_000;
const WAIT_MS = 20_000;
const IDS = [1, 2, 3];
const PEERS = IDS.map((i) => `http://127.0.0.1:${19419 + 2 * i}`);
const CLIENTS = IDS.map((i) => `http://127.0.0.1:${19429 + 2 * i}`);
const READ_TOKEN = "dashboard-read-token-0123456789";
const ADMIN_TOKEN = "dashboard-admin-token-0123456789";

const dir = mkdtempSync(join(tmpdir(), "raftstack-dashboard-auth-"));
const procs: ChildProcess[] = [];

after(() => {
  for (const p of procs) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

async function leaderOf(url: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/v1/cluster?local=1`, {
      headers: { Authorization: `Bearer ${READ_TOKEN}` },
      signal: AbortSignal.timeout(500),
    });
    const view = (await res.json()) as { leader?: number };
    return view.leader === undefined || view.leader === 0 ? undefined : view.leader;
  } catch {
    return undefined;
  }
}

/**
 * Waits until the page marks as leader the node the cluster names now. Not the leader seen at start: on
 * a loaded machine (CI) a new election may follow the first one, and the page then rightly shows another.
 */
async function showsLeader(page: Page): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const now = await leaderOf(CLIENTS[0]!);
    if (
      now !== undefined &&
      (await page.locator(`#members tr[data-node="${now}"][data-role="leader"]`).isVisible())
    ) {
      return;
    }
    assert.ok(Date.now() < deadline, `the page shows leader ${now} within ${WAIT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("dashboard with --auth-token-file: token form, every member live with a read token, cross-origin stream", {
  timeout: TEST_TIMEOUT_MS,
  skip: SKIP_WITHOUT_CHROMIUM,
}, async () => {
  const tokens = join(dir, "tokens");
  writeFileSync(tokens, `${READ_TOKEN} read\n${ADMIN_TOKEN} admin\n`);
  for (const id of IDS) {
    const proc = spawn(
      process.execPath,
      [BIN, "--id", String(id), "--cluster", PEERS.join(","), "--port", String(19429 + 2 * id)].concat([
        "--client-urls",
        CLIENTS.join(","),
        "--data-dir",
        join(dir, `n${id}`),
        "--auth-token-file",
        tokens,
      ]),
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    procs.push(proc);
  }
  const deadline = Date.now() + WAIT_MS;
  let leader: number | undefined;
  while (leader === undefined && Date.now() < deadline) {
    leader = await leaderOf(CLIENTS[0]!);
    if (leader === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(leader !== undefined, "a leader within 20 s");
  for (const url of CLIENTS) {
    while ((await leaderOf(url)) === undefined) {
      assert.ok(Date.now() < deadline, `${url} knows the leader within 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // Without a token the stream is refused; with one the peers' summaries are read with it.
  assert.equal((await fetch(`${CLIENTS[0]}/v1/dashboard`)).status, 401);
  const preflight = await fetch(`${CLIENTS[1]}/v1/dashboard/stream`, {
    method: "OPTIONS",
    headers: { Origin: CLIENTS[0]!, "Access-Control-Request-Headers": "authorization" },
  });
  assert.equal(preflight.status, 204);
  assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/i);

  const browser = await openBrowser();
  try {
    const { page, errors } = browser;
    await page.goto(`${CLIENTS[0]}/dashboard`);
    await page.locator("#auth").waitFor({ state: "visible", timeout: WAIT_MS });
    assert.match((await page.locator("#auth-why").textContent()) ?? "", /needs a token/);
    await page.locator("#auth-token").fill(READ_TOKEN);
    await page.locator('#auth button[type="submit"]').click();
    await showsLeader(page);
    for (const id of IDS) {
      await page.locator(`#members tr[data-node="${id}"] .health-ok`).waitFor({ timeout: WAIT_MS });
    }
    assert.equal(await page.locator("#auth").isVisible(), false);
    await screenshot(page, "dashboard-auth.png", "3 members live on nodes with --auth-token-file");

    // Another member's origin, token from the fragment: the stream crosses origins with the header.
    const other = await browser.page.context().newPage();
    const otherErrors: string[] = [];
    other.on("console", (msg) => {
      if (msg.type() === "error") otherErrors.push(msg.text());
    });
    await other.goto(`${CLIENTS[1]}/dashboard#auth=${READ_TOKEN}`);
    await showsLeader(other);
    const crossOrigin = await other.evaluate(
      async ([url, token]) => {
        const res = await fetch(`${url}/v1/dashboard`, { headers: { Authorization: `Bearer ${token}` } });
        const body = (await res.json()) as { members: unknown[] };
        return { status: res.status, members: body.members.length };
      },
      [CLIENTS[2]!, READ_TOKEN] as const,
    );
    assert.deepEqual(crossOrigin, { status: 200, members: 3 });
    assert.deepEqual(otherErrors, []);
    // The first page's only console error is the refused stream before the token was entered.
    assert.ok(
      errors.every((e) => /401/.test(e)),
      `unexpected console errors: ${errors.join("; ")}`,
    );
  } finally {
    await browser.close();
  }
});
