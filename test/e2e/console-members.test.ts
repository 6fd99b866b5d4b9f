// The `raftstack cluster` console grows and shrinks the cluster itself: `add` picks the next node's ports,
// adds it through the membership API, starts it with --join under the console and waits until it is a
// voter; `status` lists it, `restart` brings it back from its data dir without --join; `remove 2` removes
// node 2 and stops it (its data dir kept); a member added outside the console (5) moves the next add to
// id 6 and its ports; `quit` stops the added nodes too. Every acknowledged push is popped exactly once.
// Ports 18200-18299 (this file's range): clients 18210/18220/18230 (peers one less, Redis +2), the added
// node 4 on client 18240, peer 18239, Redis 18242, node 6 on 18260/18259/18262, member 5's peer 18299.
// The --tls console (second test): clients 18270/18273/18276, added node 4 on 18279 (peers one less).
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { RaftstackClient } from "../../src/client/index.js";
import { alive, killPids, sleep } from "./harness.js";
import { type Listed, pushUntilAcked, request, waitVoters } from "./members-client.js";

const CLI = resolve("bin/raftstack.js");
const BASE_PORT = 18210;
const PORT_STEP = 10;
const RESP_BASE_PORT = 18212;
const url = (id: number) => `http://127.0.0.1:${BASE_PORT + (id - 1) * PORT_STEP}`;
const peerUrl = (id: number) => `http://127.0.0.1:${BASE_PORT + (id - 1) * PORT_STEP - 1}`;
const WAIT_MS = 45_000;

/** One RESP PING to 127.0.0.1:port → the reply line. */
function ping(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const socket = connect(port, "127.0.0.1", () => socket.write("*1\r\n$4\r\nPING\r\n"));
    socket.setTimeout(3000, () => socket.destroy(new Error("RESP PING timed out")));
    socket.once("data", (d) => {
      res(d.toString().trim());
      socket.end();
    });
    socket.once("error", rej);
  });
}

describe("e2e: the cluster console adds and removes nodes itself", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-console-members-"));
  const nodePids = new Set<number>();
  let console_: ChildProcess | undefined;
  let output = "";

  after(async () => {
    if (console_ !== undefined && console_.exitCode === null) {
      console_.kill("SIGKILL");
    }
    killPids(nodePids);
    if (process.env.KEEP_E2E === undefined) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`e2e data kept in ${dir}\n${output}`);
  });

  /** Waits until the console's output after `from` contains `text`; resolves with its offset. */
  async function seen(text: string | RegExp, from = 0): Promise<number> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const rest = output.slice(from);
      const at = typeof text === "string" ? rest.indexOf(text) : rest.search(text);
      if (at >= 0) return from + at;
      if (Date.now() > deadline) throw new Error(`console never printed ${text}:\n${output.slice(-3000)}`);
      await sleep(50);
    }
  }

  const client = new RaftstackClient({ endpoints: [1, 2, 3, 4].map(url), deadlineMs: 10_000 });
  after(() => client.close());
  const listed = async (): Promise<Listed> => client.members() as Promise<Listed>;

  /** Starts `raftstack cluster --nodes 3` in `dir`; resolves its exit code once it exits. */
  function startConsole(): Promise<number | null> {
    const proc = spawn(
      process.execPath,
      [CLI, "cluster", "--nodes", "3", "--base-dir", dir, "--base-port", String(BASE_PORT)].concat([
        "--port-step",
        String(PORT_STEP),
        "--resp-base-port",
        String(RESP_BASE_PORT),
        // Snapshots within the test's few hundred entries: a restarted node then reads its members from
        // one, where a stale --cluster is noticed (below).
        "--node-args",
        "--snapshot-entries 40",
      ]),
      { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
    );
    console_ = proc;
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.on("data", (d: Buffer) => {
        output += d.toString();
        for (const m of d.toString().matchAll(/raftstack\d+ started \(pid (\d+)/g))
          nodePids.add(Number(m[1]));
      });
    }
    return new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  }
  const type = (line: string) => console_?.stdin?.write(`${line}\n`);

  test("add a node from the console, push through it, restart it, remove node 2, quit", async () => {
    const exited = startConsole();
    await waitVoters(listed, [1, 2, 3]);
    assert.equal((await request(url(1), "POST", "/sCreate", "jobs")).body, "1");

    // add: node 4 in the console's port scheme, started with --join, a voter before the command ends.
    const added = output.length;
    type("add");
    await seen("raftstack4 is a voter", added);
    assert.match(
      output.slice(added),
      /raftstack4 started \(pid \d+, client http:\/\/127\.0\.0\.1:18240, redis 127\.0\.0\.1:18242, joining\)/,
    );
    const four = await waitVoters(listed, [1, 2, 3, 4]);
    assert.deepEqual(
      four.members.map((m) => [m.id, m.peerUrl, m.clientUrl]),
      [1, 2, 3, 4].map((i) => [i, peerUrl(i), url(i)]),
    );
    assert.equal(await ping(RESP_BASE_PORT + 3 * PORT_STEP), "+PONG");

    // status lists the added node like the others (name, process, pid, its own view).
    const status = output.length;
    type("status");
    await seen(/raftstack4\s+running\s+\d+\s+http:\/\/127\.0\.0\.1:18240\s+4\s+(follower|leader)/, status);

    const acked: string[] = [];
    const push = async (id: number, item: string) => {
      await pushUntilAcked(url(id), item);
      acked.push(item);
    };
    for (let round = 0; round < 5; round++) for (const id of [1, 2, 3, 4]) await push(id, `a${round}n${id}`);

    // restart: same data dir, no --join now that it is a voter; it serves writes again.
    const restarted = output.length;
    type("restart 4");
    await seen("raftstack4 started", restarted);
    assert.doesNotMatch(
      output
        .slice(restarted)
        .split("\n")
        .find((l) => l.includes("raftstack4 started")) ?? "",
      /joining/,
    );
    for (let round = 0; round < 3; round++) await push(4, `r${round}n4`);

    // remove 2: out of the member list, its process stopped, its data dir kept.
    const pid2 = [...output.matchAll(/raftstack2 started \(pid (\d+)/g)].map((m) => Number(m[1])).at(-1) ?? 0;
    const removed = output.length;
    type("remove 2");
    await seen("raftstack2 removed from the cluster and stopped", removed);
    assert.equal(alive(pid2), false, "node 2's process is stopped");
    assert.ok(existsSync(join(dir, "raftstack-2")), "node 2's data dir is kept");
    await waitVoters(listed, [1, 3, 4]);
    const again = output.length;
    type("start 2");
    await seen("start: node 2 was removed from the cluster", again);
    const afterRemove = output.length;
    type("status");
    await seen(/raftstack4\s+running/, afterRemove);
    assert.doesNotMatch(output.slice(afterRemove), /raftstack2\s+(running|stopped)/);
    for (let round = 0; round < 5; round++) for (const id of [1, 3, 4]) await push(id, `b${round}n${id}`);

    // A member added outside the console (5, never started): the console's next add is 6 on 6's ports, and
    // `remove 5` removes a member the console does not run.
    assert.equal((await client.addMember("http://127.0.0.1:18299")).id, 5);
    const six = output.length;
    type("add");
    await seen("raftstack6 is a voter", six);
    assert.match(
      output.slice(six),
      /raftstack6 started \(pid \d+, client http:\/\/127\.0\.0\.1:18260, redis 127\.0\.0\.1:18262, joining\)/,
    );
    const five = output.length;
    type("remove 5");
    await seen("node 5 removed from the cluster (not one this console runs)", five);
    await waitVoters(listed, [1, 3, 4, 6]);
    for (let round = 0; round < 3; round++) for (const id of [1, 3, 4, 6]) await push(id, `c${round}n${id}`);

    // Every acknowledged push is popped exactly once, through the added node.
    const popped: string[] = [];
    for (;;) {
      const a = await request(url(4), "POST", "/v1/stacks/1/pop");
      if (a.status === 409) break;
      assert.equal(a.status, 200, a.body);
      popped.push((JSON.parse(a.body) as { item: string }).item);
      assert.ok(popped.length <= acked.length, "more items than acknowledged pushes");
    }
    assert.deepEqual([...popped].sort(), [...acked].sort());

    // quit stops every node the console runs, the added one included.
    const quit = output.length;
    type("quit");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((r) => {
      timer = setTimeout(() => r("console did not exit"), WAIT_MS);
    });
    assert.equal(await Promise.race([exited, late]), 0);
    clearTimeout(timer);
    // Stopped gracefully by the console (SIGTERM: the node exits 0), not left to the last-resort SIGKILL.
    assert.match(output.slice(quit), /raftstack4 exited \(code 0\)/);
    assert.match(output.slice(quit), /raftstack6 exited \(code 0\)/);
    const left = [...nodePids].filter(alive);
    assert.deepEqual(left, [], "no node outlives the console");
    process.stderr.write(`console-members e2e: ${acked.length} acknowledged pushes popped once each\n`);

    // Started again in the same folder, the console runs the cluster as it was left: nodes 1, 3, 4 and 6,
    // the added ones from their data dirs (no --join), node 2 not at all.
    const again2 = output.length;
    const exitedAgain = startConsole();
    await seen("raftstack6 started", again2);
    const restartedLines = output.slice(again2).split("\n");
    for (const name of ["raftstack4", "raftstack6"])
      assert.doesNotMatch(restartedLines.find((l) => l.includes(`${name} started`)) ?? "", /joining/);
    await waitVoters(listed, [1, 3, 4, 6]);
    assert.equal(
      restartedLines.some((l) => l.startsWith("raftstack2 started")),
      false,
      "a removed node is not started again",
    );
    await pushUntilAcked(url(6), "after-restart");
    assert.equal((await request(url(4), "POST", "/sPop", "1")).body, "after-restart");
    // Each node got the members the console runs now, not the list it was first made with.
    assert.doesNotMatch(output.slice(again2), /--cluster differs from the replicated member table/);
    type("quit");
    assert.equal(await exitedAgain, 0);
    assert.deepEqual([...nodePids].filter(alive), [], "no node outlives the second console");
  });
});

describe("e2e: a --tls console adds a node with a certificate from its CA", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-console-tls-"));
  const nodePids = new Set<number>();
  let console_: ChildProcess | undefined;
  let output = "";
  after(() => {
    if (console_ !== undefined && console_.exitCode === null) console_.kill("SIGKILL");
    killPids(nodePids);
    if (process.env.KEEP_E2E === undefined) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`e2e data kept in ${dir}\n${output}`);
  });

  test("add under --tls: the new node joins over mTLS, serves HTTPS and is a voter", async () => {
    const base = 18270;
    const step = 3;
    const tlsUrl = (id: number) => `https://127.0.0.1:${base + (id - 1) * step}`;
    console_ = spawn(
      process.execPath,
      [CLI, "cluster", "--tls", "--nodes", "3", "--base-dir", dir, "--base-port", String(base)].concat([
        "--port-step",
        String(step),
        "--resp-base-port",
        "0",
      ]),
      { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
    );
    for (const stream of [console_.stdout, console_.stderr]) {
      stream?.on("data", (d: Buffer) => {
        output += d.toString();
        for (const m of d.toString().matchAll(/raftstack\d+ started \(pid (\d+)/g))
          nodePids.add(Number(m[1]));
      });
    }
    const deadline = Date.now() + WAIT_MS;
    while (!existsSync(join(dir, "certs", "ca.pem"))) {
      assert.ok(Date.now() < deadline, `no certificates:\n${output}`);
      await sleep(50);
    }
    await sleep(200); // the console writes every file before it starts the nodes
    const tls = { ca: readFileSync(join(dir, "certs", "ca.pem")) };
    const client = new RaftstackClient({ endpoints: [1, 2, 3, 4].map(tlsUrl), deadlineMs: 10_000, tls });
    try {
      const listed = async (): Promise<Listed> => client.members() as Promise<Listed>;
      await waitVoters(listed, [1, 2, 3]);
      const added = output.length;
      console_.stdin?.write("add\n");
      for (;;) {
        if (output.slice(added).includes("raftstack4 is a voter")) break;
        assert.ok(Date.now() < deadline + WAIT_MS, `node 4 never became a voter:\n${output.slice(-3000)}`);
        await sleep(50);
      }
      assert.ok(existsSync(join(dir, "certs", "node-4.pem")), "node 4's certificate was written");
      const four = await waitVoters(listed, [1, 2, 3, 4]);
      assert.equal(four.members.find((m) => m.id === 4)?.clientUrl, tlsUrl(4));
      const only4 = new RaftstackClient({ endpoints: [tlsUrl(4)], deadlineMs: 10_000, tls });
      try {
        const id = await only4.createStack("tls");
        assert.equal(await only4.push(id, ["x", "y"]), 2);
        assert.equal(await client.pop(id), "y");
      } finally {
        await only4.close();
      }
    } finally {
      await client.close();
    }
    console_.stdin?.write("quit\n");
    await new Promise<void>((r) => console_?.once("exit", () => r()));
    assert.deepEqual([...nodePids].filter(alive), [], "no node outlives the console");
  });
});
