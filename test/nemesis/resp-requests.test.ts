// The nemesis's RESP attempts against fake nodes (a few lines of RESP each): answers, -NOLEADER followed
// to the named leader within the attempt, retryable errors, a node that never answers, a closed port.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, describe, test } from "node:test";
import { RespRequests } from "./resp-requests.js";

/** A node that answers every command with `reply(args)` (raw RESP), or never when it returns undefined. */
async function fakeNode(
  reply: (args: string[]) => string | undefined,
): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buf = "";
    socket.on("data", (d: Buffer) => {
      buf += d.toString();
      // Requests arrive as arrays of bulk strings; answer each complete one.
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (m === null) return;
        let at = m[0].length;
        const args: string[] = [];
        for (let k = 0; k < Number(m[1]); k++) {
          const len = /^\$(\d+)\r\n/.exec(buf.slice(at));
          if (len === null || buf.length < at + len[0].length + Number(len[1]) + 2) return;
          at += len[0].length;
          args.push(buf.slice(at, at + Number(len[1])));
          at += Number(len[1]) + 2;
        }
        buf = buf.slice(at);
        // The client's handshake: no RESP3 here (it falls back to RESP2), and its library name noted.
        const handshake = args[0]?.toLowerCase() === "hello" ? "-ERR unknown command 'hello'\r\n" : undefined;
        const r = handshake ?? (args[0]?.toLowerCase() === "client" ? "+OK\r\n" : reply(args));
        if (r !== undefined) socket.write(r);
      }
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const address = server.address();
  assert.ok(typeof address === "object" && address !== null);
  return { server, port: address.port };
}

describe("nemesis RESP attempts", () => {
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  test("answers, a followed -NOLEADER, retryable errors, silence and a closed port", async () => {
    const seen: string[][] = [];
    const leader = await fakeNode((args) => {
      seen.push(args);
      if (args[2] === "LPUSH") return ":3\r\n";
      if (args[0] === "LINDEX") return "$2\r\nv7\r\n";
      if (args[2] === "LPOP") return "$-1\r\n";
      return "-TIMEOUT outcome unknown: not committed in time; retry with the same ONCE key\r\n";
    });
    const follower = await fakeNode(
      () => "-NOLEADER this node is not the leader; node 1 is (http://x); nothing was applied\r\n",
    );
    const silent = await fakeNode(() => undefined);
    servers.push(leader.server, follower.server, silent.server);
    const ports = new Map([
      [1, leader.port],
      [2, follower.port],
      [3, silent.port],
      [4, 1], // nothing listens on port 1
    ]);
    const t0 = performance.now();
    const resp = new RespRequests(
      (n) => ports.get(n)!,
      () => "s1",
      () => performance.now() - t0,
    );
    try {
      // Connections open in the background; an attempt to a node still connecting is refused. Wait until
      // each fake node's connection is ready (a loaded machine took over 200 ms: the push below was
      // refused); port 1's attempt only opens its client, which never connects.
      const deadline = performance.now() + 10_000;
      for (const n of [1, 2, 3]) {
        while ((await resp.attempt(n, { f: "size", stackId: 1 }, 50)).result === "refused") {
          assert.ok(performance.now() < deadline, `the connection to fake node ${n} never became ready`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      await resp.attempt(4, { f: "size", stackId: 1 }, 50);
      const push = await resp.attempt(2, { f: "push", stackId: 1, value: "v9", key: "k1" }, 1000);
      assert.equal(push.result, "answer");
      assert.deepEqual(push.answer, { kind: "ok", size: 3 });
      assert.deepEqual(
        seen.at(-1),
        ["ONCE", "k1", "LPUSH", "s1", "v9"],
        "sent on to the leader node 2 named",
      );
      assert.deepEqual((await resp.attempt(1, { f: "top", stackId: 1 }, 1000)).answer, {
        kind: "value",
        value: "v7",
      });
      assert.deepEqual((await resp.attempt(1, { f: "pop", stackId: 1, key: "k2" }, 1000)).answer, {
        kind: "empty",
      });
      const size = await resp.attempt(1, { f: "size", stackId: 1 }, 1000);
      assert.equal(size.result, "retryable");
      assert.equal(size.code, "timeout");
      const quiet = await resp.attempt(3, { f: "size", stackId: 1 }, 100);
      assert.equal(quiet.result, "timeout");
      const closed = await resp.attempt(4, { f: "push", stackId: 1, value: "v", key: "k3" }, 100);
      assert.equal(closed.result, "refused", "never written: certainly not applied");
    } finally {
      await resp.close();
    }
  });
});
