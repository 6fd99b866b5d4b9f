// redis-cli --pipe (Redis's bulk loader) against a real node. Ports 28810..28812 (this file's range:
// 28800-28899; peer 288i0, HTTP 288i1, RESP 288i2).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { track } from "../e2e/harness.js";
import { RespCluster, redisCli } from "./harness.js";
import { frame } from "./helpers.js";

describe("e2e: redis-cli --pipe", { timeout: 60_000 }, () => {
  const c = track(new RespCluster(1, 28800)) as RespCluster;
  before(() => c.startAll());
  after(() => c.destroy());

  test("a few LPUSH lines: exits 0 with every reply counted, the pushes applied", async () => {
    const port = c.respPort(await c.waitLeader());
    // Inline commands and RESP frames, as people feed it. At the end redis-cli sends ECHO of 20 random
    // bytes and waits for them back: answered with an error (not UTF-8), it waited 30 s and exited 1.
    const input = `LPUSH piped a\nLPUSH piped b c\r\n${frame("LPUSH", "piped", "d")}`;
    // Bounded well under redis-cli's own 30 s: a hang fails the test (redisCli rejects on the timeout).
    const out = await redisCli(port, ["--pipe"], input, 10_000);
    assert.match(out, /errors: 0, replies: 3/);
    assert.equal(await redisCli(port, ["LLEN", "piped"]), "4\n");
  });
});
