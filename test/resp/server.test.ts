// The RESP listener over a stand-in service: replies byte for byte, pipelines, errors, limits, BLPOP.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { RespServer } from "../../src/resp/index.js";
import type { ClusterMember } from "../../src/server/index.js";
import fc from "../fast-check.js";
import { FakeService, silent } from "../server/fake-service.js";
import { bin, byteConn, frame, RawConn, wire } from "./helpers.js";

async function start(service: FakeService, limits = {}): Promise<{ server: RespServer; port: number }> {
  const server = new RespServer(service, {
    host: "127.0.0.1",
    port: 0,
    logger: silent,
    limits,
  });
  return { server, port: await server.listen() };
}

/** One poll step of the tests that hold the service's answers. */
const pause = () => new Promise((r) => setTimeout(r, 20));

describe("RESP listener", { timeout: 120_000 }, () => {
  const service = new FakeService(1);
  let server: RespServer;
  let port: number;
  const conns: RawConn[] = [];
  const open = async () => {
    const c = await RawConn.open(port);
    conns.push(c);
    return c;
  };
  before(async () => ({ server, port } = await start(service)));
  after(async () => {
    for (const c of conns) c.close();
    await server.close();
  });

  test("list commands answer as Redis does, keys are labels", async () => {
    const c = await open();
    await c.roundTrip(frame("LPUSH", "jobs", "a", "b"), ":2\r\n");
    await c.roundTrip(frame("LPOP", "jobs"), "$1\r\nb\r\n");
    await c.roundTrip(frame("lpush", "jobs", "x", "y"), ":3\r\n");
    await c.roundTrip(frame("LRANGE", "jobs", "0", "-1"), "*3\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\na\r\n");
    await c.roundTrip(frame("LINDEX", "jobs", "0"), "$1\r\ny\r\n");
    await c.roundTrip(frame("LINDEX", "jobs", "-1"), "$1\r\na\r\n");
    await c.roundTrip(frame("LINDEX", "jobs", "7"), "$-1\r\n");
    await c.roundTrip(frame("LLEN", "jobs"), ":3\r\n");
    await c.roundTrip(frame("LLEN", "none"), ":0\r\n");
    await c.roundTrip(frame("TYPE", "jobs"), "+list\r\n");
    await c.roundTrip(frame("TYPE", "none"), "+none\r\n");
    await c.roundTrip(frame("EXISTS", "jobs", "none", "jobs"), ":2\r\n");
    await c.roundTrip(frame("LPOP", "jobs", "2"), "*2\r\n$1\r\ny\r\n$1\r\nx\r\n");
    await c.roundTrip(frame("LPOP", "none"), "$-1\r\n");
    await c.roundTrip(frame("LPOP", "none", "2"), "*-1\r\n");
    await c.roundTrip(frame("LPOP", "jobs", "0"), "*0\r\n");
    await c.roundTrip(frame("LPUSH", "other", "1"), ":1\r\n");
    await c.roundTrip(frame("DBSIZE"), ":2\r\n");
    await c.roundTrip(frame("KEYS", "o*"), "*1\r\n$5\r\nother\r\n");
    await c.roundTrip(frame("SCAN", "0", "COUNT", "1"), "*2\r\n$1\r\n1\r\n*1\r\n$4\r\njobs\r\n");
    await c.roundTrip(frame("SCAN", "1", "COUNT", "5"), "*2\r\n$1\r\n0\r\n*1\r\n$5\r\nother\r\n");
    await c.roundTrip(frame("DEL", "jobs", "other", "none"), ":2\r\n");
    await c.roundTrip(frame("UNLINK", "jobs"), ":0\r\n");
    await c.roundTrip(frame("LPUSH", "é", "€"), ":1\r\n");
    await c.roundTrip(frame("LPOP", "é"), `$3\r\n€\r\n`);
  });

  test("connection commands, RESP3 after HELLO 3", async () => {
    const c = await open();
    await c.roundTrip(frame("PING"), "+PONG\r\n");
    await c.roundTrip(frame("PING", "hi"), "$2\r\nhi\r\n");
    await c.roundTrip(frame("ECHO", "hey"), "$3\r\nhey\r\n");
    await c.roundTrip(frame("SELECT", "0"), "+OK\r\n");
    await c.roundTrip(frame("SELECT", "1"), "-ERR DB index is out of range\r\n");
    await c.roundTrip(frame("AUTH", "token"), "+OK\r\n");
    await c.roundTrip(frame("AUTH", "a", "b", "c"), "-ERR syntax error\r\n");
    await c.roundTrip(frame("CLIENT", "GETNAME"), "$-1\r\n");
    await c.roundTrip(frame("CLIENT", "SETNAME", "worker-1"), "+OK\r\n");
    await c.roundTrip(frame("CLIENT", "GETNAME"), "$8\r\nworker-1\r\n");
    await c.roundTrip(
      frame("CLIENT", "SETNAME", "a b"),
      "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    );
    await c.roundTrip(frame("HELLO", "4"), "-NOPROTO unsupported protocol version\r\n");
    c.send(frame("HELLO", "3"));
    const hello = await c.until((r) => r.includes("modules"));
    assert.match(hello, /%7\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n.*\$5\r\nproto\r\n:3\r\n/s);
    await c.until((r) => r.endsWith("*0\r\n"));
    await c.roundTrip(frame("LPOP", "none"), "_\r\n");
    await c.roundTrip(frame("BLPOP", "none", "0.05"), "_\r\n");
    c.send(frame("INFO", "replication"));
    const info = await c.until((r) => r.includes("raft_applied"));
    assert.match(
      info,
      /=\d+\r\ntxt:# Replication\r\nrole:master\r\nraft_role:leader\r\nraft_leader:1\r\nraft_term:3\r\n/,
    );
  });

  test("ECHO and PING answer bytes that are not UTF-8 as they are; LPUSH of them is still refused", async () => {
    // redis-cli --pipe ends with an ECHO of 20 random bytes and waits for them; it once got
    // "-ERR argument 2 is not valid UTF-8" and hung for 30 s.
    const { socket, bytes, clear } = await byteConn(port);
    try {
      for (let round = 0; round < 5; round++) {
        const message = Buffer.concat([Buffer.from([0xff]), randomBytes(19)]);
        const bad = Buffer.from([0xc3, 0x28]);
        // One write: text replies around the bytes go out in order, in one joined socket write.
        socket.write(
          bin(
            wire(Buffer.from("ECHO"), message),
            frame("PING", "x"),
            wire(Buffer.from("PING"), message),
            wire(Buffer.from("LPUSH"), Buffer.from("bin"), bad),
            wire(Buffer.from("ECHO"), message, message),
            wire(Buffer.from("ONCE"), Buffer.from("o1"), Buffer.from("ECHO"), message),
            frame("LLEN", "bin"),
          ),
        );
        const expected = bin(
          `$20\r\n`,
          message,
          "\r\n$1\r\nx\r\n$20\r\n",
          message,
          "\r\n-ERR argument 3 is not valid UTF-8 (raftstack stores text)\r\n",
          "-ERR argument 2 is not valid UTF-8 (raftstack stores text)\r\n",
          "-ERR argument 4 is not valid UTF-8 (raftstack stores text)\r\n:0\r\n",
        );
        const deadline = Date.now() + 5000;
        while (bytes().length < expected.length && Date.now() < deadline) await pause();
        assert.deepEqual(bytes(), expected);
        clear();
      }
    } finally {
      socket.destroy();
    }
  });

  test("a pipeline sees its own writes in order; replies keep the request order", async () => {
    const c = await open();
    const requests = [
      frame("LPUSH", "p", "1"),
      frame("LLEN", "p"),
      frame("LPUSH", "p", "2", "3"),
      frame("PING"),
      frame("LRANGE", "p", "0", "-1"),
      frame("LPOP", "p"),
      frame("LLEN", "p"),
      frame("NOPE"),
      frame("LPUSH", "p"),
    ].join("");
    await c.roundTrip(
      requests,
      ":1\r\n:1\r\n:3\r\n+PONG\r\n*3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n3\r\n:2\r\n" +
        "-ERR unknown command 'NOPE'\r\n-ERR wrong number of arguments for 'lpush' command\r\n",
    );
  });

  test("deeper pipelines than the limit are read as the replies go out, not refused", async () => {
    const small = await start(new FakeService(1), { pipelineRequestsMax: 4 });
    try {
      const c = await RawConn.open(small.port);
      await c.roundTrip(
        frame("PING").repeat(200) + frame("LPUSH", "q", "a").repeat(50),
        "+PONG\r\n".repeat(200) + Array.from({ length: 50 }, (_, i) => `:${i + 1}\r\n`).join(""),
      );
      c.close();
    } finally {
      await small.server.close();
    }
  });

  test("a write answered before submit returns runs once and is answered once, in order", async () => {
    // The real node answers at once when it refuses (removed, busy, stopped): the reply's done()
    // must not start the same request again from inside its own submit.
    const atOnce = new FakeService(1);
    atOnce.submitAnswersAtOnce = true;
    const own = await start(atOnce);
    try {
      const c = await RawConn.open(own.port);
      await c.roundTrip(
        frame("LPUSH", "s", "a") + frame("PING") + frame("LPUSH", "s", "b") + frame("LLEN", "s"),
        ":1\r\n+PONG\r\n:2\r\n:2\r\n",
      );
      assert.equal(atOnce.submits, 2);
      atOnce.failWith = "busy";
      await c.roundTrip(
        frame("LPUSH", "s", "c") + frame("LPUSH", "s", "d") + frame("PING"),
        "-BUSY fake busy; retry\r\n-BUSY fake busy; retry\r\n+PONG\r\n",
      );
      assert.equal(atOnce.submits, 4);
      c.close();
    } finally {
      await own.server.close();
    }
  });

  test("a client gone with writes in flight: the pipeline finishes as after a half-close, answers go nowhere", async () => {
    // The server cannot tell a closed client from a half-closed one (allowHalfOpen) until it writes:
    // what was sent runs, in order, and the late replies are dropped without harm.
    const held = new FakeService(1);
    held.heldSubmits = [];
    const own = await start(held);
    try {
      const c = await RawConn.open(own.port);
      const pipeline = [frame("LPUSH", "h", "a"), frame("LPUSH", "h", "b"), frame("LLEN", "h")];
      c.send([...pipeline, frame("LPUSH", "h", "c")].join(""));
      for (let i = 0; i < 100 && held.heldSubmits.length < 2; i++) await pause();
      // The writes run together; the read waits for them, the write after it for the read.
      assert.equal(held.heldSubmits.length, 2);
      c.close();
      await pause();
      for (let i = 0; i < 20 && held.submits < 3; i++) {
        for (const run of held.heldSubmits.splice(0)) run();
        await pause();
      }
      for (const run of held.heldSubmits.splice(0)) run();
      assert.equal(held.submits, 3, "each write ran once");
      held.heldSubmits = undefined;
      const d = await RawConn.open(own.port);
      await d.roundTrip(frame("LRANGE", "h", "0", "-1"), "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
      d.close();
    } finally {
      await own.server.close();
    }
  });

  test("writes answered out of order, one refused: every reply once, in request order (one WriteSlot per write)", async () => {
    const held = new FakeService(1);
    held.heldSubmits = [];
    const own = await start(held);
    try {
      const c = await RawConn.open(own.port);
      c.send([frame("LPUSH", "o", "a"), frame("LPUSH", "o", "b"), frame("LPUSH", "o", "c")].join(""));
      for (let i = 0; i < 100 && held.heldSubmits.length < 3; i++) await pause();
      const [first, second, third] = held.heldSubmits.splice(0);
      third?.(); // c: pushed, size 1
      await pause();
      assert.equal(c.received, "", "nothing leaves before the first write's reply");
      held.failWith = "busy";
      first?.(); // refused: the service checks failWith when called
      held.failWith = undefined;
      second?.(); // b: pushed, size 2
      held.heldSubmits = undefined;
      c.send(frame("PING"));
      const expected = "-BUSY fake busy; retry\r\n:2\r\n:1\r\n+PONG\r\n";
      assert.equal(await c.until((r) => r.length >= expected.length), expected);
      assert.equal(held.submits, 3);
      c.close();
    } finally {
      await own.server.close();
    }
  });

  test("errors carry the HTTP API's codes", async () => {
    const c = await open();
    await c.roundTrip(
      frame("RPUSH", "k", "a"),
      "-ERR RPUSH is not supported: a stack has one end (the top); use LPUSH, LPOP, BLPOP and LINDEX 0\r\n",
    );
    await c.roundTrip(
      frame("GET", "k"),
      "-WRONGTYPE Operation against a key holding the wrong kind of value (raftstack keys hold stacks)\r\n",
    );
    await c.roundTrip(frame("LPUSH", "k", "x".repeat(65)), ":1\r\n");
    await c.roundTrip(frame("LPUSH", "", "a"), "-LABEL_INVALID label must be non-empty valid UTF-8\r\n");
    await c.roundTrip(frame("LINDEX", "k", "x"), "-ERR value is not an integer or out of range\r\n");
    // A counted pop past popItemsMax once answered "at most 10000 items per push".
    await c.roundTrip(
      frame("LPOP", "k", "10001"),
      "-TOO_MANY_ITEMS too many in one command: at most 10000 items per push, 10000 per counted pop, 1024 stacks per command\r\n",
    );
    c.send(Buffer.from("*3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$2\r\n\xff\xfe\r\n", "latin1"));
    await c.until((r) => r.includes("not valid UTF-8"));
    service.failWith = "not_leader";
    service.leaderId = 2;
    service.clientUrls.set(2, "http://127.0.0.1:2");
    await c.roundTrip(
      frame("LPUSH", "k", "a"),
      "-NOLEADER this node is not the leader; node 2 is (http://127.0.0.1:2); nothing was applied\r\n",
    );
    service.failWith = "timeout";
    await c.roundTrip(
      frame("LPOP", "k"),
      "-TIMEOUT outcome unknown: fake timeout; retry with the same ONCE key\r\n",
    );
    service.failWith = undefined;
    service.leaderId = 1;
  });

  test("no leader: reads get NOLEADER worded for a read, writes keep theirs", async () => {
    // Reads once answered "nothing was applied, retry", the wording for a refused write.
    const c = await open();
    service.leaderId = 0;
    service.failWith = "no_leader";
    try {
      const readRefused =
        "-NOLEADER no leader known to confirm the read (ReadIndex); retry, or READONLY for a stale read\r\n";
      for (const read of [
        frame("LINDEX", "k", "0"),
        frame("LLEN", "k"),
        frame("LRANGE", "k", "0", "-1"),
        frame("EXISTS", "k"),
        frame("TYPE", "k"),
      ]) {
        await c.roundTrip(read, readRefused);
      }
      await c.roundTrip(
        frame("LPUSH", "k", "a"),
        "-NOLEADER no leader known; nothing was applied, retry\r\n",
      );
      // A pipeline of reads then a write: each keeps its own wording.
      await c.roundTrip(
        frame("LLEN", "k") + frame("LPOP", "k"),
        `${readRefused}-NOLEADER no leader known; nothing was applied, retry\r\n`,
      );
      // Leadership moved while the read waited: the new leader is named, the read is retried.
      service.leaderId = 2;
      service.clientUrls.set(2, "http://127.0.0.1:2");
      await c.roundTrip(
        frame("LLEN", "k"),
        "-NOLEADER the read lost its leader; node 2 is the leader now (http://127.0.0.1:2); retry\r\n",
      );
      service.failWith = "timeout";
      await c.roundTrip(frame("LLEN", "k"), "-TIMEOUT fake timeout; retry\r\n");
      // A stale read needs no leader.
      await c.roundTrip(frame("READONLY") + frame("LLEN", "no-leader"), "+OK\r\n:0\r\n");
    } finally {
      service.failWith = undefined;
      service.leaderId = 1;
    }
  });

  test("ONCE: a write retried with its key is applied once", async () => {
    const c = await open();
    await c.roundTrip(frame("ONCE", "k-1", "LPUSH", "once", "a"), ":1\r\n");
    await c.roundTrip(frame("ONCE", "k-1", "LPUSH", "once", "a"), ":1\r\n");
    await c.roundTrip(frame("ONCE", "k-2", "LPOP", "once"), "$1\r\na\r\n");
    await c.roundTrip(frame("LPUSH", "once", "b"), ":1\r\n");
    await c.roundTrip(frame("ONCE", "k-2", "LPOP", "once"), "$1\r\na\r\n");
    await c.roundTrip(frame("LLEN", "once"), ":1\r\n");
    await c.roundTrip(
      frame("ONCE", "k-3", "LLEN", "once"),
      "-ERR ONCE applies to writes: LPUSH, LPOP, DEL, UNLINK, BLPOP\r\n",
    );
    await c.roundTrip(
      frame("ONCE", "", "LPOP", "once"),
      "-KEY_INVALID ONCE key must be 1..128 bytes of UTF-8\r\n",
    );
    // A key reused for another command says so (it once answered "malformed request"), and nothing is applied.
    await c.roundTrip(
      frame("ONCE", "k-1", "LPUSH", "once", "c"),
      "-IDEMPOTENCY_KEY_REUSED this idempotency key was first used for a different request; nothing was applied (use a new key for a new request)\r\n",
    );
    await c.roundTrip(frame("LLEN", "once"), ":1\r\n");
  });

  test("BLPOP waits for a push, one item goes to one client, the timeout answers nil", async () => {
    const [a, b, pusher] = [await open(), await open(), await open()];
    a.send(frame("BLPOP", "empty", "other", "5"));
    b.send(frame("BLPOP", "other", "0.4"));
    await new Promise((r) => setTimeout(r, 50));
    await pusher.roundTrip(frame("LPUSH", "other", "item"), ":1\r\n");
    await a.until((r) => r.length > 0);
    assert.equal(a.received, "*2\r\n$5\r\nother\r\n$4\r\nitem\r\n");
    await b.until((r) => r.length > 0);
    assert.equal(b.received, "*-1\r\n", "the second waiter times out: the one item went to the first");
    // Requests after a BLPOP wait for it, then run in order.
    a.send(frame("BLPOP", "later", "5") + frame("LLEN", "later"));
    await pusher.roundTrip(frame("LPUSH", "later", "x", "y"), ":2\r\n");
    await a.until((r) => r.endsWith(":1\r\n"));
    assert.ok(a.received.endsWith("*2\r\n$5\r\nlater\r\n$1\r\ny\r\n:1\r\n"), a.received);
    // A keyed BLPOP retried after its answer was lost gets the same item, even from an empty stack.
    await pusher.roundTrip(frame("ONCE", "b-1", "BLPOP", "keyed", "1"), "*-1\r\n");
    await pusher.roundTrip(frame("LPUSH", "keyed", "k"), ":1\r\n");
    await pusher.roundTrip(frame("ONCE", "b-1", "BLPOP", "keyed", "1"), "*2\r\n$5\r\nkeyed\r\n$1\r\nk\r\n");
    await pusher.roundTrip(frame("ONCE", "b-1", "BLPOP", "keyed", "1"), "*2\r\n$5\r\nkeyed\r\n$1\r\nk\r\n");
    await pusher.roundTrip(frame("BLPOP", "keyed", "-1"), "-ERR timeout is negative\r\n");
    await pusher.roundTrip(frame("BLPOP", "keyed", "x"), "-ERR timeout is not a float or out of range\r\n");
  });

  test("QUIT answers OK and closes; later requests are not run", async () => {
    const c = await open();
    await c.roundTrip(frame("QUIT") + frame("LPUSH", "after-quit", "a"), "+OK\r\n");
    await c.until(() => false).catch(() => {});
    assert.ok(c.closed);
    const d = await open();
    await d.roundTrip(frame("EXISTS", "after-quit"), ":0\r\n");
  });

  test("malformed RESP gets a protocol error and a closed connection, never a crash", async () => {
    const huge = await open();
    await huge.roundTrip(
      "*2\r\n$5\r\nLPUSH\r\n$99999999\r\n",
      "-ERR Protocol error: bulk exceeds 65536 bytes\r\n",
    );
    await huge.until(() => false, 2000).catch(() => {});
    assert.ok(huge.closed);
    const truncated = await open();
    truncated.send(`${frame("PING")}*2\r\n$4\r\nLLEN\r\n$3\r\nab`);
    truncated.socket.end();
    await truncated.until(() => false, 2000).catch(() => {});
    assert.equal(
      truncated.received,
      "+PONG\r\n-ERR Protocol error: unexpected end of stream inside a request\r\n",
    );
    assert.ok(truncated.closed);

    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc
        .array(
          fc.constantFrom("*", "$", "-1", "3", "99999999999", "\r\n", "\r", "\n", "PING", "LPUSH", "k", ":"),
          { maxLength: 30 },
        )
        .map((parts) => Buffer.from(parts.join(""))),
    );
    await fc.assert(
      fc.asyncProperty(bytes, fc.nat(9), async (b, roll) => {
        const c = await RawConn.open(port);
        c.send(b);
        // Mostly half-closed, so the server reaches an end state: replies, maybe a protocol error, close.
        const halfClose = roll > 1;
        if (halfClose) c.socket.end();
        await c.until(() => false, halfClose ? 2000 : 100).catch(() => {});
        if (halfClose) assert.ok(c.closed, `open after ${JSON.stringify(Buffer.from(b).toString("latin1"))}`);
        if (c.received.includes("Protocol error")) {
          await c.until(() => false, 1000).catch(() => {});
          assert.ok(c.closed, "closed after a protocol error");
        }
        c.close();
      }),
      { numRuns: 150 },
    );
    const after = await open();
    await after.roundTrip(frame("PING"), "+PONG\r\n");
  });

  test("ioredis: commands, a pipeline, RESP errors as ReplyError", async () => {
    const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
      assert.equal(await redis.lpush("io", "a", "b", "c"), 3);
      assert.equal(await redis.lpop("io"), "c");
      assert.deepEqual(await redis.lrange("io", 0, -1), ["b", "a"]);
      const results = await redis.pipeline().lpush("io", "d").llen("io").lpop("io", 2).exec();
      assert.deepEqual(results, [
        [null, 3],
        [null, 3],
        [null, ["d", "b"]],
      ]);
      await assert.rejects(redis.rpush("io", "x"), /a stack has one end/);
    } finally {
      redis.disconnect();
    }
  });
});

describe("RESP INFO replication on a node that does not lead", { timeout: 30_000 }, () => {
  /** INFO replication's fields, by name. */
  async function replication(service: FakeService): Promise<Map<string, string>> {
    const { server, port } = await start(service);
    const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
      const text = await redis.info("replication");
      return new Map(
        text.split("\r\n").flatMap((l) => (l.includes(":") ? [l.split(":", 2) as [string, string]] : [])),
      );
    } finally {
      redis.disconnect();
      await server.close();
    }
  }

  test("a follower with a leader: role:slave, its link up; no leader, or campaigning: down", async () => {
    const follower = new FakeService(2, 1);
    const up = await replication(follower);
    assert.deepEqual(
      ["role", "raft_role", "raft_leader", "master_link_status", "connected_slaves"].map((k) => up.get(k)),
      ["slave", "follower", "1", "up", "0"],
    );
    const noLeader = await replication(new FakeService(2, 0));
    assert.equal(noLeader.get("master_link_status"), "down");
    // A pre-candidate still names the last leader it heard of, but has not heard from it for a while.
    follower.roleName = "preCandidate";
    assert.equal((await replication(follower)).get("master_link_status"), "down");
    const leaderService = new FakeService(1);
    const member = (id: number, state: string | null): ClusterMember => ({
      id,
      peerUrl: "",
      clientUrl: "",
      match: state === null ? null : 5,
      state,
    });
    // Found in a newcomer's trial: the leader counted every other member, also one that was down.
    leaderService.clusterMembers = [member(1, "replicate"), member(2, "replicate"), member(3, "probe")];
    const leader = await replication(leaderService);
    assert.equal(leader.get("connected_slaves"), "1", "only the members it replicates to now");
    assert.equal(leader.get("role"), "master");
    assert.equal(leader.has("master_link_status"), false, "a master has no link to a master");
    assert.equal(leader.has("raft_removed"), false, "only a removed node carries raft_removed");
  });

  test("a removed node says raft_removed:1, a slave whose link is down, also while it still leads", async () => {
    // As the real node: a removed node names no leader; a removed leader is handing its leadership off.
    const follower = Object.assign(new FakeService(2, 0), { removed: true });
    const leader = Object.assign(new FakeService(1, 0), { removed: true, roleName: "leader" });
    const shown = ["role", "raft_role", "raft_removed", "master_link_status", "connected_slaves"];
    for (const [name, service] of [
      ["follower", follower],
      ["leader", leader],
    ] as const) {
      const fields = await replication(service);
      assert.deepEqual(
        shown.map((k) => fields.get(k)),
        ["slave", name, "1", "down", "0"],
        `a removed ${name}`,
      );
    }
    // HELLO names its role too: no master.
    const { server, port } = await start(leader);
    const redis = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await redis.connect();
      const hello = (await redis.call("HELLO", "2")) as string[];
      assert.equal(hello[hello.indexOf("role") + 1], "replica");
    } finally {
      redis.disconnect();
      await server.close();
    }
  });
});
