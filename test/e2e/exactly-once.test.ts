// Writes whose answers are lost in a leader crash, retried with the same Idempotency-Key elsewhere, apply once.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Cluster, sleep, track } from "./harness.js";

describe("e2e: exactly-once retries across leader crashes", { timeout: 90_000 }, () => {
  const c = track(new Cluster(3, 23000));
  before(() => c.startAll());
  after(() => c.destroy());

  /** Kills the current leader, restarts it and waits for a leader again. */
  async function crashLeader(): Promise<number> {
    const leader = await c.waitLeader();
    await c.kill(leader);
    c.start(leader);
    return leader;
  }

  test("push and pop applied once whatever the retries", async () => {
    let leader = await c.waitLeader();
    assert.equal((await c.http(leader, "POST", "/sCreate", "eo")).body, "1");
    for (const item of ["a", "b", "c"]) await c.retry(c.ids(), "POST", "/sPush", `1,${item}`);

    // 1. Applied, answer lost: the leader answered but we drop it, then it crashes; retries elsewhere.
    const push1 = { "idempotency-key": "push-1" };
    assert.equal((await c.http(leader, "POST", "/sPush", "1,d", push1)).body, "4");
    const pop1 = { "idempotency-key": "pop-1" };
    const popped = (await c.http(leader, "POST", "/sPop", "1", pop1)).body;
    assert.equal(popped, "d");
    leader = await crashLeader();
    const others = c.ids().filter((i) => i !== leader);
    assert.equal((await c.retry(others, "POST", "/sPush", "1,d", push1)).body, "4");
    assert.equal((await c.retry(others, "POST", "/sPop", "1", pop1)).body, "d");
    assert.equal((await c.retry(c.ids(), "POST", "/sPop", "1", pop1)).body, "d", "second retry, same item");
    assert.equal((await c.retry(c.ids(), "POST", "/sSize", "1")).body, "3");

    // 2. The request hangs on a paused leader, which is then killed: retried on another node.
    const target = await c.waitLeader();
    c.signal(target, "SIGSTOP");
    const push2 = { "idempotency-key": "push-2" };
    const pop2 = { "idempotency-key": "pop-2" };
    const hung = Promise.allSettled([
      c.http(target, "POST", "/sPush", "1,e", push2, 500),
      c.http(target, "POST", "/sPop", "1", pop2, 500),
    ]);
    await sleep(100);
    await c.kill(target);
    await hung;
    const rest = c.ids().filter((i) => i !== target);
    assert.equal((await c.retry(rest, "POST", "/sPush", "1,e", push2)).body, "4");
    assert.equal((await c.retry(rest, "POST", "/sPop", "1", pop2)).body, "e");
    assert.equal((await c.retry(rest, "POST", "/sPop", "1", pop2)).body, "e");
    c.start(target);

    // 3. Crash at a random moment while the requests are in flight: whatever got applied, applied once.
    let expected = 3;
    for (let round = 0; round < 4; round++) {
      const l = await c.waitLeader();
      const key = { "idempotency-key": `push-r${round}` };
      const inflight = c.http(l, "POST", "/sPush", `1,r${round}`, key, 2000).catch(() => undefined);
      await sleep(Math.floor(Math.random() * 6));
      await c.kill(l);
      await inflight;
      const live = c.ids().filter((i) => i !== l);
      expected++;
      assert.equal((await c.retry(live, "POST", "/sPush", `1,r${round}`, key)).body, String(expected));
      assert.equal((await c.retry(live, "POST", "/sPush", `1,r${round}`, key)).body, String(expected));
      c.start(l);
    }
    // Every node converges on the same contents: pop everything and compare with the model.
    await c.waitLeader();
    const items: string[] = [];
    for (;;) {
      const a = await c.retry(c.ids(), "POST", "/sPop", "1");
      if (a.status === 409) break;
      assert.equal(a.status, 200);
      items.push(a.body);
    }
    assert.deepEqual(items, ["r3", "r2", "r1", "r0", "c", "b", "a"]);
  });
});
