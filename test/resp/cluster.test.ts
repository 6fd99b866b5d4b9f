// RESP against a real 3-node cluster of processes, with redis-cli and ioredis. Ports 28610..28632
// (this file's range: 28600-28699; peer 286i0, HTTP 286i1, RESP 286i2).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Redis } from "ioredis";
import { sleep, track } from "../e2e/harness.js";
import { RespCluster, redisCli } from "./harness.js";
import { acknowledged, assertOnceEach, frame, lpushPipeline, parseReplies, RawConn } from "./helpers.js";

describe("e2e: RESP on a 3-node cluster", { timeout: 180_000 }, () => {
  const c = track(new RespCluster(3, 28600)) as RespCluster;
  const clients: Redis[] = [];
  const client = async (i: number): Promise<Redis> => {
    const r = c.redis(i);
    clients.push(r);
    await r.connect();
    return r;
  };
  before(() => c.startAll());
  after(async () => {
    for (const r of clients) r.disconnect();
    await c.destroy();
  });

  test("redis-cli: LPUSH jobs a b → 2, LPOP jobs → b, and every command", async () => {
    const leader = await c.waitLeader();
    const port = c.respPort(leader);
    assert.equal(await redisCli(port, ["LPUSH", "jobs", "a", "b"]), "2\n");
    assert.equal(await redisCli(port, ["LPOP", "jobs"]), "b\n");
    const script = [
      "PING",
      "ECHO hi",
      "LPUSH cli x y z",
      "LLEN cli",
      "LINDEX cli 0",
      "LRANGE cli 0 -1",
      "LPOP cli 2",
      "EXISTS cli jobs nope",
      "TYPE cli",
      "TYPE nope",
      "DBSIZE",
      "KEYS c*",
      "SCAN 0 MATCH j* COUNT 100",
      "DEL cli",
      "SELECT 0",
      "CLIENT SETNAME cli-test",
      "CLIENT GETNAME",
      "AUTH some-token",
      "RPUSH jobs q",
      "BLPOP jobs 1",
      "BLPOP jobs 0.1",
    ].join("\n");
    const out = await redisCli(port, [], script);
    assert.equal(
      out,
      [
        "PONG",
        "hi",
        "3",
        "3",
        "z",
        "z\ny\nx",
        "z\ny",
        "2",
        "list",
        "none",
        "2",
        "cli",
        "0\njobs",
        "1",
        "OK",
        "OK",
        "cli-test",
        "OK",
        "ERR RPUSH is not supported: a stack has one end (the top); use LPUSH, LPOP, BLPOP and LINDEX 0",
        // redis-cli without a terminal ends an error with an empty line.
        "",
        "jobs\na",
        "",
      ].join("\n") + "\n",
    );
    const info = await redisCli(port, ["INFO", "replication"]);
    assert.match(
      info,
      new RegExp(`role:master\\r?\\nraft_role:leader\\r?\\nraft_leader:${leader}\\r?\\nraft_term:\\d+`),
    );
    assert.match(await redisCli(port, ["COMMAND", "DOCS", "blpop"]), /blpop\nsummary\n/);
  });

  test("ioredis: a pipeline of pushes is answered in order; reads on a follower see them (ReadIndex)", async () => {
    const leader = await c.waitLeader();
    const follower = c.ids().find((i) => i !== leader) as number;
    const r = await client(leader);
    const p = r.pipeline();
    for (let k = 0; k < 200; k++) p.lpush("pipe", `v${k}`);
    p.llen("pipe").lrange("pipe", 0, 2);
    const results = (await p.exec()) ?? [];
    assert.deepEqual(
      results.slice(0, 200).map(([err, v]) => [err, v]),
      Array.from({ length: 200 }, (_, k) => [null, k + 1]),
    );
    assert.deepEqual(results.slice(200), [
      [null, 200],
      [null, ["v199", "v198", "v197"]],
    ]);
    const f = await client(follower);
    assert.equal(await f.llen("pipe"), 200, "a follower's read after the write is acknowledged sees it");
    assert.equal(await f.call("READONLY"), "OK");
    assert.equal(await f.lindex("pipe", 0), "v199");
  });

  test("BLPOP on the leader is woken by a push; one item reaches one waiter; HTTP pop?wait= too", async () => {
    const leader = await c.waitLeader();
    const [w1, w2, pusher] = [await client(leader), await client(leader), await client(leader)];
    const started = Date.now();
    const first = w1.blpop("wake", 5);
    const second = w2.blpop("wake", 1);
    await sleep(100);
    assert.equal(await pusher.lpush("wake", "it"), 1);
    assert.deepEqual(await first, ["wake", "it"]);
    assert.equal(await second, null, "the second waiter gets nothing: one item, one client");
    assert.ok(Date.now() - started < 4000);

    // HTTP long poll on a stack created over RESP, woken by a RESP push; on a follower the pop is forwarded.
    await pusher.lpush("http-wait", "seed");
    await pusher.lpop("http-wait");
    const info = await c.http(leader, "GET", "/v1/stacks?label=http-wait");
    const id = (JSON.parse(info.body) as { id: number }).id;
    for (const node of [leader, c.ids().find((i) => i !== leader) as number]) {
      const waiting = c.http(node, "POST", `/v1/stacks/${id}/pop?wait=5s`, undefined, {}, 8000);
      await sleep(150);
      await pusher.lpush("http-wait", `from-${node}`);
      const answer = await waiting;
      assert.equal(answer.status, 200, answer.body);
      assert.deepEqual(JSON.parse(answer.body), { item: `from-${node}` });
    }
    const empty = await c.http(leader, "POST", `/v1/stacks/${id}/pop?wait=200ms`);
    assert.equal(empty.status, 409);
  });

  test("leader SIGKILLed mid-pipeline: keyed retries lose no acknowledged push and pop nothing twice", async () => {
    let leader = await c.waitLeader();
    const r = await client(leader);
    const prefill = Array.from({ length: 300 }, (_, k) => `p${k}`);
    await r.lpush("popq", ...prefill);
    r.disconnect();

    // One raw connection, one write: 300 keyed pushes then 300 keyed pops, cut by the kill.
    const n = 300;
    const push = (k: number) => frame("ONCE", `push-${k}`, "LPUSH", "killq", `i${k}`);
    const pop = (k: number) => frame("ONCE", `pop-${k}`, "LPOP", "popq");
    const raw = await RawConn.open(c.respPort(leader));
    raw.send(Array.from({ length: n }, (_, k) => push(k) + pop(k)).join(""));
    await raw.until((got) => got.length > 0);
    await c.kill(leader);
    await raw.until(() => false, 2000).catch(() => {});
    const acked = parseReplies(raw.received);
    raw.close();
    const ackedPushes = new Set<number>();
    const ackedPops = new Map<number, string>();
    for (const [k, reply] of acked.entries()) {
      const index = Math.floor(k / 2);
      if (k % 2 === 0 && reply.startsWith(":")) ackedPushes.add(index);
      if (k % 2 === 1 && reply.startsWith("$") && reply !== "$-1")
        ackedPops.set(index, reply.slice(reply.indexOf("\n") + 1));
    }

    // Retry every request (acknowledged or not) with its key on the new leader until each succeeds.
    const survivors = c.ids().filter((i) => i !== leader);
    leader = await c.waitLeader(survivors);
    const retried = await retryAll(
      c.respPort(leader),
      Array.from({ length: n }, (_, k) => [push(k), pop(k)]).flat(),
    );
    const popped = new Map<number, string>();
    for (let k = 0; k < n; k++) {
      assert.match(retried[2 * k] as string, /^:\d+$/);
      const item = retried[2 * k + 1] as string;
      assert.match(item, /^\$\d+\np\d+$/);
      popped.set(k, item.slice(item.indexOf("\n") + 1));
      // An acknowledged pop's retry returns the same item: it was applied once.
      if (ackedPops.has(k)) assert.equal(popped.get(k), ackedPops.get(k));
    }
    const check = await client(leader);
    const pushed = await check.lrange("killq", 0, -1);
    assert.equal(pushed.length, n, "every push applied exactly once");
    assert.deepEqual(new Set(pushed), new Set(Array.from({ length: n }, (_, k) => `i${k}`)));
    const left = await check.lrange("popq", 0, -1);
    const taken = [...popped.values()];
    assert.equal(new Set(taken).size, n, "no item popped twice");
    assert.deepEqual([...taken, ...left].sort(), [...prefill].sort(), "no item lost");
    assert.ok(ackedPushes.size + ackedPops.size > 0, "the kill came after some replies");
  });

  test("leader SIGKILLed mid-pipeline of plain LPUSH (the fast lane): every acknowledged push survives, none applied twice", async () => {
    // The node the test above killed comes back, so the cluster can lose its leader again.
    for (const i of c.ids()) if (!c.alive(i)) c.start(i);
    let leader = await c.waitLeader(c.ids(), 20_000);
    // Keyless, ASCII, one connection: runs of up to 64 requests take the fast lane (docs/resp.md).
    const n = 3000;
    const raw = await RawConn.open(c.respPort(leader));
    raw.send(lpushPipeline("laneq", "l", n));
    await raw.until((got) => got.length > 0);
    await c.kill(leader);
    await raw.until(() => false, 2000).catch(() => {});
    const replies = parseReplies(raw.received);
    raw.close();
    const acked = acknowledged(replies, "l");
    assert.ok(acked.length > 0, "the kill came after some replies");

    leader = await c.waitLeader(
      c.ids().filter((i) => c.alive(i)),
      20_000,
    );
    const check = await client(leader);
    const stored = await check.lrange("laneq", 0, -1);
    assertOnceEach(stored, acked);
    console.log(
      `# ${acked.length} of ${n} pushes acknowledged before the kill; ${stored.length} stored after it`,
    );
  });

  test("followers paused mid-pipeline of plain LPUSH: the leader steps down with runs in flight; every acknowledged push survives, none applied twice", async () => {
    for (const i of c.ids()) if (!c.alive(i)) c.start(i);
    const old = await c.waitLeader(c.ids(), 20_000);
    const followers = c.ids().filter((i) => i !== old);
    const n = 3000;
    const raw = await RawConn.open(c.respPort(old));
    raw.send(lpushPipeline("pauseq", "s", n));
    await raw.until((got) => got.length > 0);
    // Longer than check-quorum's election timeout, shorter than the request timeout: the leader steps
    // down with entries its followers took but never acknowledged. Once they wake, a leader commits
    // those entries; their requests' outcome was unknown to the old leader, which must not propose
    // them again.
    for (const f of followers) c.signal(f, "SIGSTOP");
    await sleep(400);
    for (const f of followers) c.signal(f, "SIGCONT");
    // Every request is answered: pushed, or an error ("outcome unknown", or its request timeout passed).
    await raw.until((got) => parseReplies(got).length >= n, 20_000);
    const replies = parseReplies(raw.received);
    raw.close();
    const acked = acknowledged(replies, "s");
    const leader = await c.waitLeader(c.ids(), 20_000);
    const check = await client(leader);
    const stored = await check.lrange("pauseq", 0, -1);
    assertOnceEach(stored, acked);
    const failed = replies.filter((reply) => reply.startsWith("-"));
    console.log(
      `# ${acked.length} of ${n} pushes acknowledged around the pause, ${failed.length} failed (${failed[0]}); ${stored.length} stored`,
    );
  });
});

/** Sends `requests` as one pipeline, then again those answered with an error, until all succeed. */
async function retryAll(port: number, requests: readonly string[], deadlineMs = 30_000): Promise<string[]> {
  const replies = Array.from<string | undefined>({ length: requests.length });
  const deadline = Date.now() + deadlineMs;
  while (replies.some((r) => r === undefined)) {
    if (Date.now() > deadline)
      throw new Error(`retries did not finish: ${replies.filter((r) => r === undefined).length} left`);
    const todo = replies.flatMap((r, k) => (r === undefined ? [k] : []));
    const conn = await RawConn.open(port).catch(() => undefined);
    if (conn === undefined) {
      await sleep(100);
      continue;
    }
    conn.send(todo.map((k) => requests[k]).join(""));
    await conn.until((got) => parseReplies(got).length >= todo.length, 5000).catch(() => {});
    for (const [j, reply] of parseReplies(conn.received).entries()) {
      if (!reply.startsWith("-")) replies[todo[j] as number] = reply;
    }
    conn.close();
    await sleep(50);
  }
  return replies as string[];
}
