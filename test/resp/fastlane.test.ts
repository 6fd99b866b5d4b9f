// The RESP fast lane (runs of plain LPUSH proposed from their bytes) against the normal path, on a real
// node: the same random pipelines sent to a listener with the fast lane and to one without must get the
// same replies, byte for byte, and leave the same stacks.
// Ports 29600..29601 (this file's range: 29600-29619).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseNodeArgs, type RunningNode, startNode } from "../../src/node/index.js";
import { RespServer } from "../../src/resp/index.js";
import type { RunReply, StackService } from "../../src/server/index.js";
import type { AsciiPushes } from "../../src/stack/index.js";
import fc from "../fast-check.js";
import { silent } from "../server/fake-service.js";
import { frame, RawConn } from "./helpers.js";

const PEER_PORT = 29600;

/** A request of a pipeline as its arguments, keys written `{K}` (each listener gets its own keys). */
const key = fc.constantFrom("{K}a", "{K}b", "{K}c");
// \u0001 stands for the byte 0xff, which is not UTF-8 (see `replies`).
const item = fc.constantFrom("", "x", "item-16-bytes-xx", "é", "a\u0080", "1 2", "\r\n", "$2", "\u0001");
const request: fc.Arbitrary<readonly string[]> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .tuple(fc.constantFrom("LPUSH", "lpush"), key, fc.array(item, { minLength: 1, maxLength: 4 }))
      .map(([name, k, items]) => [name, k, ...items]),
  },
  { weight: 2, arbitrary: key.map((k) => ["LPOP", k]) },
  { weight: 1, arbitrary: key.map((k) => ["LLEN", k]) },
  { weight: 1, arbitrary: key.map((k) => ["LRANGE", k, "0", "-1"]) },
  { weight: 1, arbitrary: key.map((k) => ["DEL", k]) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      ["PING"],
      ["LPUSH", "{K}a"],
      ["LPUSH", "", "x"],
      ["ONCE", "{K}once", "LPUSH", "{K}a", "once"],
      ["INLINE"],
    ),
  },
);

/** The pipeline's bytes with `prefix` for `{K}`; INLINE is an inline PING. */
function pipelineBytes(requests: readonly (readonly string[])[], prefix: string): Buffer {
  const text = requests
    .map((args) =>
      args[0] === "INLINE" ? "PING\r\n" : frame(...args.map((a) => a.replaceAll("{K}", prefix))),
    )
    .join("");
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x01) bytes[i] = 0xff;
  return bytes;
}

describe("RESP fast lane: the same replies as the normal path", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-fastlane-"));
  let node: RunningNode;
  let fast: RespServer;
  let normal: RespServer;
  const ports = { fast: 0, normal: 0 };
  /** Commands each listener submitted as runs: the fast lane must have run, and only there. */
  const runCommands = { fast: 0, normal: 0 };
  const counting = (service: StackService, name: "fast" | "normal"): StackService =>
    new Proxy(service, {
      get(target, property) {
        if (property === "submitRun") {
          return (run: AsciiPushes, reply: RunReply) => {
            runCommands[name] += run.count;
            target.submitRun(run, reply);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  before(async () => {
    const options = parseNodeArgs([
      "--id",
      "1",
      "--cluster",
      `http://127.0.0.1:${PEER_PORT}`,
      "--log-level",
      "silent",
    ]);
    node = await startNode({ ...options, dataDir: join(dir, "n1") });
    const deadline = Date.now() + 10_000;
    while (node.status().role !== "leader" && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(node.status().role, "leader");
    fast = new RespServer(counting(node.node, "fast"), { host: "127.0.0.1", port: 0, logger: silent });
    normal = new RespServer(counting(node.node, "normal"), {
      host: "127.0.0.1",
      port: 0,
      logger: silent,
      fastLane: false,
    });
    ports.fast = await fast.listen();
    ports.normal = await normal.listen();
  });
  after(async () => {
    await fast?.close();
    await normal?.close();
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `bytes` in `splits` writes and returns every reply. */
  async function replies(port: number, prefix: string, bytes: Buffer, splits: number[]): Promise<string> {
    const c = await RawConn.open(port);
    try {
      let at = 0;
      for (const s of [...splits, bytes.length]) {
        const to = Math.min(bytes.length, Math.max(at, s));
        if (to > at) c.send(bytes.subarray(at, to));
        at = to;
        await new Promise((r) => setImmediate(r));
      }
      // Answered after every request before it: then all replies are in.
      const end = `END-${prefix}`;
      c.send(frame("ECHO", end));
      return await c.until((r) => r.endsWith(`$${end.length}\r\n${end}\r\n`), 10_000);
    } finally {
      c.close();
    }
  }

  let round = 0;
  test("random pipelines of LPUSH runs, reads, errors and other writes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 1, maxLength: 60 }),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 3 }),
        async (requests, splits) => {
          round++;
          // The replies of the pipeline hold no key: each listener gets fresh keys of its own.
          const sorted = [...splits].sort((a, b) => a - b);
          const [f, n] = [`F${round}:`, `N${round}:`];
          const a = await replies(ports.fast, f, pipelineBytes(requests, f), sorted);
          const b = await replies(ports.normal, n, pipelineBytes(requests, n), sorted);
          assert.equal(a.replaceAll(`F${round}:`, "P"), b.replaceAll(`N${round}:`, "P"));
          for (const k of ["a", "b", "c"]) {
            const [x, y] = await Promise.all(
              [`F${round}:${k}`, `N${round}:${k}`].map((label) =>
                node.node.read((m) => m.range(label, 0, -1) ?? null),
              ),
            );
            assert.deepEqual(x, y);
          }
        },
      ),
      { numRuns: 100 },
    );
    assert.ok(runCommands.fast > 50, `fast lane commands: ${runCommands.fast}`);
    assert.equal(runCommands.normal, 0);
  });
});
