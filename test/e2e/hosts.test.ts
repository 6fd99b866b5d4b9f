// Nodes on different hosts (issue 11's acceptance): each node in its own Linux network namespace with its
// own address on one bridge, so a node binds 0.0.0.0 (--listen-peer-url, --listen-client-url) while the
// others reach it at its host address (its --cluster URL, --advertise-client-url). Writes go through every
// node, a 4th host is added with `raftstack member add` and --join, one node is removed, and every
// acknowledged push is popped exactly once. Needs root and `ip netns`; skipped with one line otherwise.
// Ports 18100-18199 (this file's range): every host's peer port is 18180 and client port 18181 (each in its
// own namespace), on the subnet 10.213.7.0/24 (the bridge is .1, host i is .10+i).
import assert from "node:assert/strict";
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { type Listed, pushUntilAcked, request, waitVoters } from "./members-client.js";

const CLI = resolve("bin/raftstack.js");
const SUBNET = "10.213.7";
const PEER_PORT = 18180;
const CLIENT_PORT = 18181;
const TOKEN = "hosts-e2e-cluster";
/** Interface and namespace names: unique per test process, within Linux's 15 characters. */
const TAG = `rs${process.pid % 100_000}`;
const BRIDGE = `${TAG}br`;

const hostIp = (i: number) => `${SUBNET}.${10 + i}`;
const peerUrl = (i: number) => `http://${hostIp(i)}:${PEER_PORT}`;
const clientUrl = (i: number) => `http://${hostIp(i)}:${CLIENT_PORT}`;
const ns = (i: number) => `${TAG}n${i}`;

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A bridge in this namespace (address .1, so the test reaches every host) and host i's namespace on it. */
function addHost(i: number): void {
  ip("netns", "add", ns(i));
  ip("link", "add", `${TAG}h${i}`, "type", "veth", "peer", "name", `${TAG}p${i}`);
  ip("link", "set", `${TAG}p${i}`, "netns", ns(i));
  ip("link", "set", `${TAG}h${i}`, "master", BRIDGE);
  ip("link", "set", `${TAG}h${i}`, "up");
  ip("netns", "exec", ns(i), "ip", "link", "set", "lo", "up");
  ip("netns", "exec", ns(i), "ip", "link", "set", `${TAG}p${i}`, "name", "eth0");
  ip("netns", "exec", ns(i), "ip", "addr", "add", `${hostIp(i)}/24`, "dev", "eth0");
  ip("netns", "exec", ns(i), "ip", "link", "set", "eth0", "up");
}

const hosts: number[] = [];
/** Removes every namespace and the bridge (the veth pairs go with their namespaces); safe to repeat. */
function removeNetwork(): void {
  for (const i of hosts.splice(0)) {
    try {
      ip("netns", "del", ns(i));
    } catch {
      // never created
    }
  }
  try {
    ip("link", "del", BRIDGE);
  } catch {
    // never created
  }
}

/** Why this machine cannot run the test (not root, no `ip netns`, the subnet taken), or undefined. */
function setUpNetwork(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root for `ip netns`";
  try {
    const taken = execFileSync("ip", ["-4", "addr"], { encoding: "utf8" });
    if (taken.includes(`inet ${SUBNET}.`)) return `the subnet ${SUBNET}.0/24 is in use here`;
    ip("link", "add", BRIDGE, "type", "bridge");
    ip("addr", "add", `${SUBNET}.1/24`, "dev", BRIDGE);
    ip("link", "set", BRIDGE, "up");
    for (const i of [1, 2, 3, 4]) {
      hosts.push(i);
      addHost(i);
    }
    return undefined;
  } catch (err) {
    removeNetwork();
    return `\`ip netns\`/veth/bridge unavailable (${(err as Error).message.split("\n")[0]})`;
  }
}

/** Whether a TCP connection to 127.0.0.1:port inside host i's namespace succeeds. */
function connectsInside(i: number, port: number): Promise<boolean> {
  const probe = `require("net").connect(${port}, "127.0.0.1").on("connect", () => process.exit(0)).on("error", () => process.exit(1))`;
  return new Promise((res) => {
    execFile("ip", ["netns", "exec", ns(i), process.execPath, "-e", probe], { timeout: 5000 }, (err) =>
      res(err === null),
    );
  });
}

function raftstack(args: readonly string[]): Promise<{ out: string; err: string }> {
  return new Promise((res, rej) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, out, stderr) => {
      if (err) rej(new Error(`raftstack ${args.join(" ")}: ${err.message} ${stderr}`));
      else res({ out: out.trim(), err: stderr });
    });
  });
}

describe("e2e: nodes on different hosts (network namespaces)", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-hosts-"));
  const nodes = new Map<number, ChildProcess>();
  const cleanUp = () => {
    for (const p of nodes.values()) p.kill("SIGKILL");
    removeNetwork();
  };
  process.on("exit", cleanUp);
  after(async () => {
    const exits = [...nodes.values()]
      .filter((p) => p.exitCode === null && p.signalCode === null)
      .map((p) => new Promise((r) => p.once("exit", r)));
    for (const p of nodes.values()) p.kill("SIGKILL");
    await Promise.all(exits);
    removeNetwork();
    process.off("exit", cleanUp);
    if (process.env.KEEP_E2E === undefined) rmSync(dir, { recursive: true, force: true });
    else process.stderr.write(`e2e data kept in ${dir}\n`);
  });

  /** Node i on host i: binds every interface there, and is known to the others by the host's address. */
  function startNode(i: number, cluster: readonly number[], extra: readonly string[]): void {
    const args = [
      "netns",
      "exec",
      ns(i),
      process.execPath,
      CLI,
      "--id",
      String(i),
      "--cluster",
      cluster.map((k) => `${k}=${peerUrl(k)}`).join(","),
      "--listen-peer-url",
      `http://0.0.0.0:${PEER_PORT}`,
      "--listen-client-url",
      `http://0.0.0.0:${CLIENT_PORT}`,
      "--cluster-token",
      TOKEN,
      "--data-dir",
      join(dir, `node-${i}`),
      ...extra,
    ];
    const child = spawn("ip", args, { stdio: ["ignore", "pipe", "pipe"] });
    const logFile = createWriteStream(join(dir, `node-${i}.log`));
    child.stdout?.pipe(logFile);
    child.stderr?.pipe(logFile);
    nodes.set(i, child);
  }

  const http = (i: number, method: string, path: string, body?: string, key?: string) =>
    request(clientUrl(i), method, path, body, key);
  const push = (i: number, item: string) => pushUntilAcked(clientUrl(i), item);
  const endpoints = (ids: readonly number[]) => ids.map(clientUrl).join(",");
  const listed = async (ask: readonly number[]): Promise<Listed> =>
    JSON.parse((await raftstack(["member", "list", "--json", "--endpoints", endpoints(ask)])).out);
  const voters = (ask: readonly number[], want: readonly number[]) => waitVoters(() => listed(ask), want);

  test("3 hosts, writes through each, add a 4th host, remove one: every push popped once", async (t) => {
    const unavailable = setUpNetwork();
    if (unavailable !== undefined) {
      t.skip(`skipped: ${unavailable}`);
      return;
    }
    for (const i of [1, 2, 3]) {
      startNode(i, [1, 2, 3], ["--advertise-client-url", clientUrl(i)]);
    }
    const three = await voters([1, 2, 3], [1, 2, 3]);
    // Each member is known by its host's address, never by the 0.0.0.0 it binds.
    assert.deepEqual(
      three.members.map((m) => [m.id, m.peerUrl, m.clientUrl]),
      [1, 2, 3].map((i) => [i, peerUrl(i), clientUrl(i)]),
    );
    // Bound on every interface of its host, not only the advertised address: loopback there answers too.
    for (const i of [1, 2, 3]) {
      for (const port of [PEER_PORT, CLIENT_PORT]) {
        assert.ok(await connectsInside(i, port), `host ${i} listens on 127.0.0.1:${port} (0.0.0.0 bound)`);
      }
    }
    assert.equal((await http(1, "POST", "/sCreate", "jobs")).body, "1");
    const acked: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const i of [1, 2, 3]) {
        await push(i, `a${round}h${i}`);
        acked.push(`a${round}h${i}`);
      }
    }
    // A follower's ?redirect=1 names the leader's advertised URL on its own host.
    const follower = [1, 2, 3].find((i) => i !== three.leader) as number;
    const redirected = await http(follower, "POST", "/sPush?redirect=1", "1,r");
    assert.equal(redirected.status, 307, redirected.body);
    assert.equal(redirected.location, `${clientUrl(three.leader)}/sPush?redirect=1`);

    // Host 4: added by peer URL, started with --join; its advertised client URL defaults to its peer host.
    const add = await raftstack(["member", "add", peerUrl(4), "--endpoints", endpoints([1, 2, 3])]);
    assert.equal(add.out, "4");
    assert.match(add.err, new RegExp(`--cluster 1=\\S+,2=\\S+,3=\\S+,4=${peerUrl(4)} --join`));
    startNode(4, [1, 2, 3, 4], ["--join"]);
    const four = await voters([1, 2, 3], [1, 2, 3, 4]);
    assert.deepEqual(
      four.members.map((m) => m.clientUrl),
      [1, 2, 3, 4].map(clientUrl),
    );
    for (let round = 0; round < 3; round++) {
      for (const i of [1, 2, 3, 4]) {
        await push(i, `b${round}h${i}`);
        acked.push(`b${round}h${i}`);
      }
    }

    const removed = four.leader === 2 ? 3 : 2;
    const kept = [1, 2, 3, 4].filter((i) => i !== removed);
    const remove = await raftstack(["member", "remove", String(removed), "--endpoints", endpoints([4])]);
    assert.equal(remove.out, String(removed));
    await voters(kept, kept);
    for (const i of kept) {
      await push(i, `c${i}`);
      acked.push(`c${i}`);
    }

    const popped: string[] = [];
    for (;;) {
      const a = await http(4, "POST", "/v1/stacks/1/pop");
      if (a.status === 409) break;
      assert.equal(a.status, 200, a.body);
      popped.push((JSON.parse(a.body) as { item: string }).item);
      assert.ok(popped.length <= acked.length, "more items than acknowledged pushes");
    }
    assert.deepEqual([...popped].sort(), [...acked].sort());
    process.stderr.write(`hosts e2e: 4 namespaces, ${acked.length} acknowledged pushes popped once each\n`);
  });
});
