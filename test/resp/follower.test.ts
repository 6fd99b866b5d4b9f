// RESP on followers: they forward writes to the leader over the peer connection (these tests failed
// before forwarding, when a follower answered -NOLEADER naming the leader).
// Ports 28710..28732 (this file's range: 28700-28799; peer 287i0, HTTP 287i1, RESP 287i2).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Redis } from "ioredis";
import { sleep, track } from "../e2e/harness.js";
import { RespCluster } from "./harness.js";
import { acknowledged, assertOnceEach, lpushPipeline, parseReplies, RawConn } from "./helpers.js";

describe("e2e: RESP writes on followers", { timeout: 120_000 }, () => {
  const c = track(new RespCluster(3, 28700)) as RespCluster;
  const clients: Redis[] = [];
  const client = async (i: number): Promise<Redis> => {
    const r = c.redis(i);
    clients.push(r);
    await r.connect();
    return r;
  };
  let leader = 0;
  let follower = 0;
  before(async () => {
    c.startAll();
    leader = await c.waitLeader();
    follower = c.ids().find((i) => i !== leader) as number;
  });
  after(async () => {
    for (const r of clients) r.disconnect();
    await c.destroy();
  });

  test("LPUSH and LPOP on a follower, pipelined, answered in order", async () => {
    const f = await client(follower);
    const results = (await f.pipeline().lpush("fw", "a", "b").lpop("fw").llen("fw").exec()) ?? [];
    assert.deepEqual(results, [
      [null, 2],
      [null, "b"],
      [null, 1],
    ]);
  });

  test("INFO replication: a follower is a slave with no slaves of its own and its link up", async () => {
    // Found in a newcomer's trial: a follower answered connected_slaves:2 (its cluster's size less one).
    const fields = async (i: number) =>
      new Map(
        (await (await client(i)).info("replication"))
          .split("\r\n")
          .flatMap((l) => (l.includes(":") ? [l.split(":", 2) as [string, string]] : [])),
      );
    const f = await fields(follower);
    const pick = (m: Map<string, string>, keys: string[]) => keys.map((k) => [k, m.get(k)]);
    const keys = ["role", "raft_role", "raft_leader", "master_link_status", "connected_slaves"];
    assert.deepEqual(pick(f, keys), [
      ["role", "slave"],
      ["raft_role", "follower"],
      ["raft_leader", String(leader)],
      ["master_link_status", "up"],
      ["connected_slaves", "0"],
    ]);
    const l = await fields(leader);
    assert.deepEqual(pick(l, ["role", "raft_role", "connected_slaves"]), [
      ["role", "master"],
      ["raft_role", "leader"],
      ["connected_slaves", "2"],
    ]);
  });

  test("BLPOP on a follower is woken by a push on the leader", async () => {
    const [waiter, pusher] = [await client(follower), await client(leader)];
    const popped = waiter.blpop("fw-wake", 5);
    await sleep(100);
    await pusher.lpush("fw-wake", "x");
    assert.deepEqual(await popped, ["fw-wake", "x"]);
  });

  test("BLPOP whose node loses leadership is answered within its timeout, never left hanging", async () => {
    const target = await c.waitLeader();
    const w = await client(target);
    const started = Date.now();
    const answer = w.blpop("moved", 4).then(
      (v) => ({ ok: v }),
      (err: Error) => ({ err: err.message }),
    );
    await sleep(100);
    // A pause longer than the election timeout: the others elect a new leader; the old one steps down.
    c.signal(target, "SIGSTOP");
    await sleep(600);
    c.signal(target, "SIGCONT");
    const next = await c.waitLeader(c.ids().filter((i) => i !== target));
    const pusher = await client(next);
    await pusher.lpush("moved", "m");
    const got = await answer;
    assert.ok(Date.now() - started < 4000 + 2000, "answered by its timeout plus the request timeout");
    assert.deepEqual(got, { ok: ["moved", "m"] });
  });

  test("leader SIGKILLed mid-pipeline of plain LPUSH on a follower: its resends apply each push once, lose none", async () => {
    const target = await c.waitLeader();
    const via = c.ids().find((i) => i !== target) as number;
    // Keyless, ASCII, one connection: the follower forwards each fast-lane run as one request with a key
    // it makes up per command, and sends again to the next leader the runs whose answers the kill lost
    // (a leader proposing those runs without their keys applies pushes twice: seen, 3 of 3 runs).
    const n = 3000;
    const raw = await RawConn.open(c.respPort(via));
    raw.send(lpushPipeline("fwkill", "f", n));
    await raw.until((got) => got.length > 0);
    await c.kill(target);
    assert.ok(parseReplies(raw.received).length < n, "the kill came before the last reply");
    const next = await c.waitLeader(
      c.ids().filter((i) => i !== target),
      20_000,
    );
    // Every request is answered (pushed, or an error once its request timeout passed).
    await raw.until((got) => parseReplies(got).length >= n, 20_000);
    const replies = parseReplies(raw.received);
    raw.close();
    const acked = acknowledged(replies, "f");

    const check = await client(next);
    const stored = await check.lrange("fwkill", 0, -1);
    assertOnceEach(stored, acked);
    console.log(
      `# ${acked.length} of ${n} pushes acknowledged through the follower; ${stored.length} stored`,
    );
    // Found in a newcomer's trial: a leader counted a member that was down among its connected slaves.
    const slaves = async () => /connected_slaves:(\d+)/.exec(await check.info("replication"))?.[1];
    const deadline = Date.now() + 10_000;
    while ((await slaves()) !== "1" && Date.now() < deadline) await sleep(100);
    assert.equal(await slaves(), "1", "the new leader replicates to one member; the killed one is down");
  });
});
