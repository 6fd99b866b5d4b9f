// `raftstack member add/remove/list` against a running `raftstack cluster` (issue 11's acceptance): the
// console runs 3 nodes, `member add` prints the command that starts the new member, the test runs that
// command as a user would in another terminal, writes go through every node, node 2 is removed, and every
// acknowledged push is popped exactly once. Ports 18000-18099 (this file's range): the console's clients
// on 18010/18020/18030 (peers one less), the added member's peer on 18039 and client on 18040.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { killPids, sleep } from "./harness.js";
import { type Listed, pushUntilAcked, request, waitVoters } from "./members-client.js";

const CLI = resolve("bin/raftstack.js");
const BASE_PORT = 18010;
const PORT_STEP = 10;
const NEW_PEER = "http://127.0.0.1:18039";
const NEW_CLIENT = "http://127.0.0.1:18040";
const url = (id: number) => (id === 4 ? NEW_CLIENT : `http://127.0.0.1:${BASE_PORT + (id - 1) * PORT_STEP}`);

interface Run {
  readonly out: string;
  readonly err: string;
}

function raftstack(args: readonly string[]): Promise<Run> {
  return new Promise((res, rej) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, out, stderr) => {
      if (err) rej(new Error(`raftstack ${args.join(" ")}: ${err.message} ${stderr}`));
      else res({ out: out.trim(), err: stderr });
    });
  });
}

describe("e2e: member add/remove against a running `raftstack cluster`", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-member-cluster-"));
  const children: ChildProcess[] = [];
  /** Node pids the console printed: killed if the console itself could not stop them. */
  const nodePids: number[] = [];
  let consoleText = "";

  after(async () => {
    const [console_, joined] = children;
    joined?.kill("SIGKILL");
    if (console_ !== undefined && console_.exitCode === null) {
      const exited = new Promise((r) => console_.once("exit", r));
      console_.stdin?.end("quit\n");
      await Promise.race([exited, sleep(15_000)]);
      console_.kill("SIGKILL");
    }
    killPids(nodePids);
    if (process.env.KEEP_E2E === undefined) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`e2e data kept in ${dir}\n${consoleText}`);
  });

  const http = (id: number, method: string, path: string, body?: string, key?: string) =>
    request(url(id), method, path, body, key);
  const push = (id: number, item: string) => pushUntilAcked(url(id), item);
  const endpoints = (ids: readonly number[]) => ids.map(url).join(",");
  const listed = async (ids: readonly number[]): Promise<Listed> =>
    JSON.parse((await raftstack(["member", "list", "--json", "--endpoints", endpoints(ids)])).out);
  const voters = (ids: readonly number[], want: readonly number[]) => waitVoters(() => listed(ids), want);

  test("add a 4th node started with the printed --join command, write through it, list 4, remove one", async () => {
    const console_ = spawn(
      process.execPath,
      [
        CLI,
        "cluster",
        "--nodes",
        "3",
        "--base-port",
        String(BASE_PORT),
        "--port-step",
        String(PORT_STEP),
        "--resp-base-port",
        "0",
      ],
      { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
    );
    children.push(console_);
    for (const stream of [console_.stdout, console_.stderr]) {
      stream.on("data", (d: Buffer) => {
        consoleText += d.toString();
        for (const m of d.toString().matchAll(/raftstack\d started \(pid (\d+)/g))
          nodePids.push(Number(m[1]));
      });
    }
    await voters([1, 2, 3], [1, 2, 3]);
    assert.equal((await http(1, "POST", "/sCreate", "jobs")).body, "1");

    const add = await raftstack(["member", "add", NEW_PEER, "--endpoints", endpoints([1, 2, 3])]);
    assert.equal(add.out, "4");
    // The user runs the printed command in another terminal, in the folder the console runs in.
    const printed = add.err.split("\n")[1]?.trim() ?? "";
    assert.match(printed, / --id 4 --cluster 1=\S+,2=\S+,3=\S+,4=http:\/\/127\.0\.0\.1:18039 --join /);
    const args = printed.split(" ");
    const joined = spawn(process.execPath, [CLI, ...args.slice(args.indexOf("--id"))], {
      cwd: dir,
      stdio: "ignore",
    });
    children.push(joined);
    const four = await voters([1, 2, 3], [1, 2, 3, 4]);
    assert.deepEqual(
      four.members.map((m) => [m.id, m.clientUrl]),
      [1, 2, 3, 4].map((i) => [i, url(i)]),
    );
    const table = (await raftstack(["member", "list", "--endpoints", endpoints([4])])).out.split("\n");
    assert.equal(table.length, 1 + 4, `a header and 4 members:\n${table.join("\n")}`);

    const acked: string[] = [];
    for (let round = 0; round < 5; round++) {
      for (const id of [1, 2, 3, 4]) {
        await push(id, `a${round}n${id}`);
        acked.push(`a${round}n${id}`);
      }
    }

    assert.equal((await raftstack(["member", "remove", "2", "--endpoints", endpoints([4, 1])])).out, "2");
    await voters([1, 3, 4], [1, 3, 4]);
    for (let round = 0; round < 5; round++) {
      for (const id of [1, 3, 4]) {
        await push(id, `b${round}n${id}`);
        acked.push(`b${round}n${id}`);
      }
    }

    // Every acknowledged push is popped exactly once, through the added node.
    const popped: string[] = [];
    for (;;) {
      const a = await http(4, "POST", "/v1/stacks/1/pop");
      if (a.status === 409) break;
      assert.equal(a.status, 200, a.body);
      popped.push((JSON.parse(a.body) as { item: string }).item);
      assert.ok(popped.length <= acked.length, "more items than acknowledged pushes");
    }
    assert.deepEqual([...popped].sort(), [...acked].sort());
    process.stderr.write(`member-cluster e2e: ${acked.length} acknowledged pushes popped once each\n`);
  });
});
