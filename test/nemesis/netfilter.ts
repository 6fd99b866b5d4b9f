// Real network partitions between node processes on one host: each node runs in its own cgroup v2 group,
// and iptables rules in a chain of this run drop a group's TCP packets to the other side's ports.
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Cut } from "./topology.js";

const run = promisify(execFile);

/** Name prefixes of this tool's chains and cgroups; the suffix is the pid of the run that owns them. */
const CHAIN_PREFIX = "RAFTSTACK-NEMESIS-";
const CGROUP_PREFIX = "raftstack-nemesis-";

/** Time allowed for one iptables call (they take milliseconds; a hung one must not hang the run). */
const iptablesTimeoutMs = 10_000;

export class NetfilterUnavailableError extends Error {
  override readonly name = "NetfilterUnavailableError";
  readonly code = "netfilter_unavailable";
}

/** The cgroup v2 mount: the dedicated one of a hybrid layout (`/sys/fs/cgroup/unified`) or the only one. */
function cgroup2Root(): string {
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" "))
    .filter((f) => f[2] === "cgroup2")
    .map((f) => f[1] ?? "");
  const root = mounts.find((m) => m.endsWith("/unified")) ?? mounts[0];
  if (root === undefined || root === "") throw new NetfilterUnavailableError("no cgroup v2 mount");
  return root;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Drops a node's packets by the cgroup of the sending process (`-m cgroup --path`), so every node can
 * stay on 127.0.0.1 with its usual ports. A cut A→B drops A's packets to B's peer port (A's raft messages
 * travel on connections A opens to B) and to B's client port (a follower proxies writes to the leader's
 * client URL). B's connections to A keep working: their answers and TCP acknowledgements leave A from
 * A's own ports, which no rule matches, so a one-way cut really is one way.
 */
export class Netfilter {
  readonly chain: string;
  readonly group: string;
  private installed = false;

  private constructor(
    readonly root: string,
    private readonly portsOf: (node: number) => readonly number[],
  ) {
    this.chain = `${CHAIN_PREFIX}${process.pid}`;
    this.group = `${CGROUP_PREFIX}${process.pid}`;
  }

  /**
   * Creates one cgroup per node and this run's chain, jumped to from OUTPUT. Throws
   * NetfilterUnavailableError (with the reason in one line) when this host cannot do it.
   */
  static async create(
    nodes: readonly number[],
    portsOf: (node: number) => readonly number[],
  ): Promise<Netfilter> {
    if (process.getuid?.() !== 0) throw new NetfilterUnavailableError("needs root (iptables and cgroups)");
    const root = cgroup2Root();
    try {
      await run("iptables", ["--version"], { timeout: iptablesTimeoutMs });
    } catch (err) {
      throw new NetfilterUnavailableError(`iptables not usable: ${(err as Error).message.split("\n")[0]}`);
    }
    removeStale(root);
    const nf = new Netfilter(root, portsOf);
    try {
      for (const node of nodes) mkdirSync(join(root, nf.group, `n${node}`), { recursive: true });
      await nf.iptables(["-N", nf.chain]);
      nf.installed = true;
      await nf.iptables(["-I", "OUTPUT", "1", "-j", nf.chain]);
      // Proves the cgroup match works here before any fault relies on it.
      await nf.apply([{ from: nodes[0] ?? 1, to: nodes[1] ?? 2 }]);
      await nf.heal();
    } catch (err) {
      nf.cleanupSync();
      if (err instanceof NetfilterUnavailableError) throw err;
      throw new NetfilterUnavailableError(`iptables cgroup match failed: ${firstLine(err)}`);
    }
    return nf;
  }

  /** The file a node's wrapper writes its pid to, so the node is in its group from its first packet. */
  procsFile(node: number): string {
    return join(this.root, this.group, `n${node}`, "cgroup.procs");
  }

  /** Replaces all rules at once (one iptables-restore transaction) with drops for `cuts`. */
  async apply(cuts: readonly Cut[]): Promise<void> {
    const lines = ["*filter", `-F ${this.chain}`];
    for (const cut of cuts) {
      const ports = this.portsOf(cut.to).join(",");
      lines.push(
        `-A ${this.chain} -m cgroup --path ${this.group}/n${cut.from} -p tcp -m multiport --dports ${ports} -j DROP`,
      );
    }
    lines.push("COMMIT", "");
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        "iptables-restore",
        ["--noflush", "--wait"],
        { timeout: iptablesTimeoutMs },
        (err, _out, stderr) =>
          err ? reject(new Error(`iptables-restore: ${stderr || err.message}`)) : resolve(),
      );
      child.stdin?.end(lines.join("\n"));
    });
  }

  /** Packets dropped by this run's rules so far (for the report and for tests that prove a cut works). */
  async droppedPackets(): Promise<number> {
    const { stdout } = await run("iptables", ["-w", "-L", this.chain, "-v", "-x", "-n"], {
      timeout: iptablesTimeoutMs,
    });
    return stdout
      .split("\n")
      .slice(2)
      .reduce((sum, line) => sum + (Number(line.trim().split(/\s+/)[0]) || 0), 0);
  }

  async heal(): Promise<void> {
    await this.iptables(["-F", this.chain]);
  }

  /**
   * Removes the chain, its jump and the cgroups. Synchronous so it also runs from an exit handler;
   * idempotent. The groups are removed only once their processes are gone (the caller kills nodes first).
   */
  cleanupSync(): void {
    if (this.installed) {
      removeChainSync(this.chain);
      this.installed = false;
    }
    removeGroupSync(join(this.root, this.group));
  }

  private async iptables(args: readonly string[]): Promise<void> {
    await run("iptables", ["-w", ...args], { timeout: iptablesTimeoutMs });
  }
}

function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim().split("\n")[0] ?? "";
}

function iptablesSync(args: readonly string[]): boolean {
  try {
    execFileSync("iptables", ["-w", ...args], { stdio: "ignore", timeout: iptablesTimeoutMs });
    return true;
  } catch {
    return false;
  }
}

function removeChainSync(chain: string): void {
  while (iptablesSync(["-D", "OUTPUT", "-j", chain])) {
    // a jump may have been inserted more than once by a crashed run
  }
  iptablesSync(["-F", chain]);
  iptablesSync(["-X", chain]);
}

function removeGroupSync(dir: string): void {
  let children: string[];
  try {
    children = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return;
  }
  for (const child of children) {
    try {
      rmdirSync(join(dir, child));
    } catch {
      // still holds a process: left for the stale sweep of a later run
    }
  }
  try {
    rmdirSync(dir);
  } catch {
    // idem
  }
}

/** Removes chains and empty cgroups left by runs that died without cleaning up (their pid is gone). */
function removeStale(root: string): void {
  let rules = "";
  try {
    rules = execFileSync("iptables", ["-w", "-S"], { encoding: "utf8", timeout: iptablesTimeoutMs });
  } catch {
    return;
  }
  for (const match of rules.matchAll(new RegExp(`^-N (${CHAIN_PREFIX}(\\d+))$`, "gm"))) {
    if (!pidAlive(Number(match[2]))) removeChainSync(match[1] ?? "");
  }
  for (const name of readdirSync(root)) {
    const pid = name.startsWith(CGROUP_PREFIX) ? Number(name.slice(CGROUP_PREFIX.length)) : Number.NaN;
    if (Number.isInteger(pid) && !pidAlive(pid)) removeGroupSync(join(root, name));
  }
}
