// Node processes for the nemesis: start (inside the node's cgroup when partitions are on), SIGKILL,
// SIGSTOP/SIGCONT, repair, and the cluster's view of itself. Unexpected exits are kept as findings.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, readdirSync, rmSync, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import type { ClusterView } from "../../src/server/index.js";
import type { Netfilter } from "./netfilter.js";

export const NODE_MAIN = resolve("dist/src/node/main.js");

export type NodeState = "up" | "paused" | "down";

/** A node process that exited without the nemesis killing it: a crash to report. */
export interface NodeCrash {
  readonly node: number;
  readonly at: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly stderrTail: string;
}

/** GET /v1/cluster?local=1: the node's own view (no wait for a leader that may be down). */
export type NodeView = ClusterView & { readonly lastIndex: number };

export interface ClusterOptions {
  readonly size: number;
  /** Fresh nodes the membership faults may add over the run: ids size+1 .. size+joinsMax. */
  readonly joinsMax: number;
  /** Node i listens for peers on basePort + 10·i, for HTTP clients on + 1 and for RESP clients on + 2. */
  readonly basePort: number;
  readonly dataRoot: string;
  readonly logDir: string;
  readonly netfilter: Netfilter | undefined;
  readonly nodeArgs: readonly string[];
  /** Extra environment of node i (its test-only hooks file), if any. */
  readonly nodeEnv?: (i: number) => Record<string, string>;
  /** Start each node's RESP listener on respPort(i). */
  readonly resp?: boolean;
  /** Milliseconds since the run started, for crash records. */
  readonly now: () => number;
}

/** Kept from a node's stderr for crash reports. */
const stderrTailChars = 4000;
/** One /v1/cluster query; a node that takes longer is treated as not answering. */
const statusTimeoutMs = 500;
const repairTimeoutMs = 20_000;

interface Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  expectExit: boolean;
}

export class NemesisCluster {
  readonly crashes: NodeCrash[] = [];
  /** The members as the nemesis last changed them (the initial nodes, then joins and removals). */
  private members: number[];
  /** Nodes that joined a running cluster: started with --join (they learn the configuration). */
  private readonly joined = new Set<number>();
  private nextJoinId: number;
  private readonly procs = new Map<number, Proc>();
  private readonly states = new Map<number, NodeState>();
  private readonly logs = new Map<number, WriteStream>();
  private readonly stderrTails = new Map<number, string>();

  constructor(private readonly o: ClusterOptions) {
    this.members = Array.from({ length: o.size }, (_, k) => k + 1);
    this.nextJoinId = o.size + 1;
    for (const i of this.members) this.states.set(i, "down");
    mkdirSync(o.logDir, { recursive: true });
    // Node logs are appended across a node's restarts within a run; a run into a reused --out folder must
    // not read an earlier run's lines (the two-leaders-per-term check reads these logs).
    for (const name of readdirSync(o.logDir)) {
      if (/^node-\d+\.log$/.test(name)) rmSync(join(o.logDir, name), { force: true });
    }
  }

  /** The current members: faults, clients and the final checks follow this list. */
  get ids(): readonly number[] {
    return [...this.members];
  }

  /** Every id a run may use (initial nodes and the fresh ones joins may take), for cgroups and hooks. */
  static allIds(size: number, joinsMax: number): number[] {
    return Array.from({ length: size + joinsMax }, (_, k) => k + 1);
  }

  /** A fresh id for a node about to join (ids are never reused), or undefined when none is left. */
  takeJoinId(): number | undefined {
    if (this.nextJoinId > this.o.size + this.o.joinsMax) return undefined;
    return this.nextJoinId++;
  }

  /** Starts fresh node i with --join and an empty data dir; it is a member from now on. */
  startJoining(i: number): void {
    this.joined.add(i);
    if (!this.members.includes(i)) this.members.push(i);
    this.start(i);
  }

  /** Node i's removal was applied: it leaves the member list and its process is stopped. */
  async dropMember(i: number): Promise<void> {
    this.members = this.members.filter((n) => n !== i);
    await this.kill(i);
  }

  peerPort(i: number): number {
    return this.o.basePort + 10 * i;
  }

  clientPort(i: number): number {
    return this.o.basePort + 10 * i + 1;
  }

  respPort(i: number): number {
    return this.o.basePort + 10 * i + 2;
  }

  url(i: number): string {
    return `http://127.0.0.1:${this.clientPort(i)}`;
  }

  dataDir(i: number): string {
    return join(this.o.dataRoot, `node-${i}`);
  }

  state(i: number): NodeState {
    return this.states.get(i) ?? "down";
  }

  /** Nodes whose process runs (paused ones included). */
  running(): number[] {
    return this.ids.filter((i) => this.state(i) !== "down");
  }

  start(i: number): void {
    if (this.state(i) !== "down") throw new Error(`node ${i} is already running`);
    // Explicit ids: after removals the members are no longer 1..n. A restarted node uses its replicated
    // configuration anyway; the list matters for a fresh data dir (a joining node, a repaired one).
    const peers = [...new Set([...this.members, i])]
      .sort((a, b) => a - b)
      .map((k) => `${k}=http://127.0.0.1:${this.peerPort(k)}`)
      .join(",");
    const args = [
      NODE_MAIN,
      "--id",
      String(i),
      "--cluster",
      peers,
      ...(this.joined.has(i) ? ["--join"] : []),
      "--port",
      String(this.clientPort(i)),
      "--data-dir",
      this.dataDir(i),
      ...(this.o.resp === true ? ["--resp-port", String(this.respPort(i))] : []),
      ...this.o.nodeArgs,
    ];
    const env = { ...process.env, ...this.o.nodeEnv?.(i) };
    const nf = this.o.netfilter;
    // The wrapper joins the node's cgroup and then becomes the node (exec keeps the pid), so every
    // packet the node ever sends is matched by the partition rules.
    const child =
      nf === undefined
        ? spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env })
        : spawn(
            "/bin/sh",
            ["-c", 'echo $$ > "$0" && exec "$@"', nf.procsFile(i), process.execPath, ...args],
            { stdio: ["ignore", "pipe", "pipe"], env },
          );
    const log = this.log(i);
    child.stdout?.pipe(log, { end: false });
    this.stderrTails.set(i, "");
    child.stderr?.on("data", (d: Buffer) => {
      log.write(d);
      this.stderrTails.set(i, ((this.stderrTails.get(i) ?? "") + d.toString()).slice(-stderrTailChars));
    });
    const proc: Proc = {
      child,
      expectExit: false,
      exited: new Promise((res) =>
        child.on("exit", (code, signal) => {
          if (this.procs.get(i) === proc) this.states.set(i, "down");
          if (!proc.expectExit)
            this.crashes.push({
              node: i,
              at: this.o.now(),
              code,
              signal,
              stderrTail: this.stderrTails.get(i) ?? "",
            });
          res();
        }),
      ),
    };
    this.procs.set(i, proc);
    this.states.set(i, "up");
  }

  /**
   * Takes back node i's exits since `since` whose stderr matches `expected`: a fail-stop the fault itself
   * caused (a full disk) is not a crash.
   */
  excuseCrashes(i: number, since: number, expected: RegExp): NodeCrash[] {
    const excused = this.crashes.filter((c) => c.node === i && c.at >= since && expected.test(c.stderrTail));
    for (const c of excused) this.crashes.splice(this.crashes.indexOf(c), 1);
    return excused;
  }

  /** SIGKILL (after SIGCONT, so a paused node dies too) and wait until the process is gone. */
  async kill(i: number): Promise<void> {
    const proc = this.procs.get(i);
    if (proc === undefined || this.state(i) === "down") return;
    proc.expectExit = true;
    proc.child.kill("SIGCONT");
    proc.child.kill("SIGKILL");
    await proc.exited;
  }

  pause(i: number): void {
    if (this.state(i) !== "up") return;
    this.procs.get(i)?.child.kill("SIGSTOP");
    this.states.set(i, "paused");
  }

  resume(i: number): void {
    if (this.state(i) !== "paused") return;
    this.procs.get(i)?.child.kill("SIGCONT");
    this.states.set(i, "up");
  }

  /**
   * Runs `main.js repair --data-dir --force` on a stopped node (outside any cgroup: it does no networking);
   * forced, as the fault empties an intact data dir.
   */
  repair(i: number): Promise<string> {
    if (this.state(i) !== "down") throw new Error(`node ${i} must be stopped before repair`);
    return new Promise((res, rej) => {
      execFile(
        process.execPath,
        [NODE_MAIN, "repair", "--data-dir", this.dataDir(i), "--force"],
        { timeout: repairTimeoutMs },
        (err, stdout, stderr) => {
          this.log(i).write(`nemesis: repair: ${stdout}${stderr}`);
          if (err) rej(new Error(`repair of node ${i} failed: ${stderr || err.message}`));
          else res(stdout.trim());
        },
      );
    });
  }

  /** Node i's own view, or undefined if it does not answer quickly. */
  async view(i: number): Promise<NodeView | undefined> {
    if (this.state(i) !== "up") return undefined;
    try {
      const res = await fetch(`${this.url(i)}/v1/cluster?local=1`, {
        signal: AbortSignal.timeout(statusTimeoutMs),
      });
      return res.ok ? ((await res.json()) as NodeView) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The node that says it leads in the highest term, if any answers so. */
  async leader(): Promise<number | undefined> {
    const views = await Promise.all(this.ids.map((i) => this.view(i)));
    let best: NodeView | undefined;
    for (const v of views) if (v?.role === "leader" && (best === undefined || v.term > best.term)) best = v;
    return best?.id;
  }

  /** Waits until every running node names the same leader, which says it leads; undefined on timeout. */
  async waitLeader(timeoutMs: number): Promise<number | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const views = await Promise.all(this.running().map((i) => this.view(i)));
      const first = views[0]?.leader ?? 0;
      const leaderView = views.find((v) => v?.id === first);
      if (first !== 0 && leaderView?.role === "leader" && views.every((v) => v?.leader === first))
        return first;
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  /** Kills every node; waits for them to be gone (so their cgroups can be removed). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((i) => this.kill(i)));
    // Ended and flushed: the election-safety check reads the logs next.
    await Promise.all([...this.logs.values()].map((log) => new Promise<void>((res) => log.end(res))));
    this.logs.clear();
  }

  /** Synchronous last resort for exit handlers. */
  killAllSync(): void {
    for (const proc of this.procs.values()) {
      proc.expectExit = true;
      proc.child.kill("SIGKILL");
    }
  }

  private log(i: number): WriteStream {
    let log = this.logs.get(i);
    if (log === undefined) {
      log = createWriteStream(join(this.o.logDir, `node-${i}.log`), { flags: "a" });
      this.logs.set(i, log);
    }
    return log;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const server = createServer();
    server.once("error", () => res(false));
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () => server.close(() => res(true)));
  });
}

/**
 * A base port below the kernel's ephemeral range (so no outbound socket can hold a node's port) whose
 * peer and client ports for `size` nodes are all free now. Candidates start at an offset from the pid
 * so concurrent runs rarely probe the same block.
 */
export async function findFreeBasePort(size: number, from = 30_000, to = 32_700): Promise<number> {
  const blockPorts = 10 * (size + 1);
  const blocks = Math.floor((to - from) / blockPorts);
  for (let k = 0; k < blocks; k++) {
    const base = from + ((process.pid + k) % blocks) * blockPorts;
    const ports = Array.from({ length: size }, (_, n) => [
      base + 10 * (n + 1),
      base + 10 * (n + 1) + 1,
      base + 10 * (n + 1) + 2,
    ]).flat();
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error(`no free block of ports between ${from} and ${to}`);
}
