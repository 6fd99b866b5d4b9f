// The systems benchmarked side by side: a raftstack cluster, an etcd cluster and a single Redis, all as child
// processes on 127.0.0.1, each behind the same small Cluster interface so every bench treats them alike.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { Pool } from "undici";
import { certFiles, tlsNodeArgs } from "../src/cli/certs.js";
import { http, httpPool } from "./load.js";

/** Ports below the ephemeral range and away from the seed's 12379.. and etcd's 2379/2380. */
export const PORTS = {
  raftstackPeer: 17100,
  raftstackClient: 17200,
  raftstackResp: 17600,
  etcdPeer: 17300,
  etcdClient: 17400,
  redis: 17500,
};

const NODE_MAIN = fileURLToPath(new URL("../src/node/main.js", import.meta.url));
/** Control-plane calls (status, leader lookups) must not hang a bench. */
const CONTROL_TIMEOUT_MS = 1000;

export function onPath(binary: string): boolean {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {}
  }
  return false;
}

export function raftstackBuilt(): boolean {
  try {
    accessSync(NODE_MAIN, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian packages; the bench runs as root on a throwaway machine. */
export function installPeers(): void {
  if (onPath("etcd") && onPath("redis-server")) return;
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "etcd-server", "etcd-client", "redis-server"]]) {
    const r = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed with ${r.status}`);
  }
}

export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return performance.now() - start;
    if (performance.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** A second bench (or a leftover process) on our ports would silently serve our requests: refuse to start. */
export async function assertPortsFree(urls: readonly string[]): Promise<void> {
  for (const u of urls) {
    const port = Number(new URL(u).port);
    await new Promise<void>((resolve, reject) => {
      const srv = createServer();
      srv.once("error", () => reject(new Error(`port ${port} is in use (another bench running?)`)));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve()));
    });
  }
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** A child process whose output goes to a log file, so a crash can be read afterwards. */
class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  constructor(cmd: string, args: readonly string[], logPath: string) {
    const fd = openSync(logPath, "a");
    this.child = spawn(cmd, args, { stdio: ["ignore", fd, fd] });
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
  }
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
  async kill(signal: NodeJS.Signals): Promise<void> {
    if (this.alive) this.child.kill(signal);
    await this.exited;
  }
}

/** What the failover, steady-state and recovery benches need from a replicated system. */
export interface Cluster {
  readonly name: string;
  readonly size: number;
  readonly clientUrls: readonly string[];
  readonly pools: readonly Pool[];
  alive(i: number): boolean;
  pid(i: number): number;
  /** Index (0-based) of the node that currently leads, by asking the live nodes. */
  leader(): Promise<number | undefined>;
  /** Highest term any live node reports. */
  term(): Promise<number>;
  /** Applied index of node i, and the commit index the leader reports. */
  applied(i: number): Promise<number>;
  kill(i: number): Promise<void>;
  restart(i: number): Promise<void>;
  close(): Promise<void>;
}

export interface RaftstackOptions {
  readonly nodes: number;
  readonly extraArgs?: readonly string[];
  /** Node i also serves RESP on PORTS.raftstackResp + i + 1. */
  readonly resp?: boolean;
  /** Client HTTPS and peer mTLS with the certificates `raftstack certs` wrote here (bench --tls). */
  readonly tlsDir?: string;
}

/** A raftstack cluster started from the built node (dist/src/node/main.js) with shipped defaults. */
export class RaftstackCluster implements Cluster {
  readonly name = "raftstack";
  readonly clientUrls: string[];
  readonly pools: Pool[];
  private readonly peerUrls: string[];
  private readonly procs: (Proc | undefined)[];
  private readonly root: string;

  constructor(
    readonly size: number,
    private readonly extraArgs: readonly string[] = [],
    private readonly resp = false,
    readonly tlsDir?: string,
  ) {
    this.root = mkdtempSync(join(tmpdir(), "raftstack-bench-"));
    const scheme = tlsDir === undefined ? "http" : "https";
    this.peerUrls = Array.from(
      { length: size },
      (_, i) => `${scheme}://127.0.0.1:${PORTS.raftstackPeer + i + 1}`,
    );
    this.clientUrls = Array.from(
      { length: size },
      (_, i) => `${scheme}://127.0.0.1:${PORTS.raftstackClient + i + 1}`,
    );
    this.pools = this.clientUrls.map((u) => httpPool(u, 2, CONTROL_TIMEOUT_MS, this.ca));
    this.procs = Array.from({ length: size }, () => undefined);
  }

  static async start(o: RaftstackOptions): Promise<RaftstackCluster> {
    const c = new RaftstackCluster(o.nodes, o.extraArgs, o.resp ?? false, o.tlsDir);
    const respUrls = c.resp
      ? Array.from({ length: c.size }, (_, i) => `http://127.0.0.1:${c.respPort(i)}`)
      : [];
    await assertPortsFree([...c.peerUrls, ...c.clientUrls, ...respUrls]);
    for (let i = 0; i < c.size; i++) c.spawn(i);
    await waitUntil("a raftstack leader", 30_000, async () => (await c.leader()) !== undefined);
    return c;
  }

  dataDir(i: number): string {
    return join(this.root, `node-${i + 1}`);
  }

  /** The CA that signed the nodes' certificates, with TLS on. */
  get ca(): Buffer | undefined {
    return this.tlsDir === undefined ? undefined : readFileSync(certFiles(this.tlsDir).ca);
  }

  /** RESP port of node i (0-based), when started with `resp`. */
  respPort(i: number): number {
    return PORTS.raftstackResp + i + 1;
  }

  private spawn(i: number): void {
    mkdirSync(this.dataDir(i), { recursive: true });
    const args = [
      NODE_MAIN,
      "--id",
      String(i + 1),
      "--cluster",
      this.peerUrls.join(","),
      "--client-urls",
      this.clientUrls.join(","),
      "--port",
      String(PORTS.raftstackClient + i + 1),
      "--data-dir",
      this.dataDir(i),
      "--log-level",
      "warn",
      ...(this.resp ? ["--resp-port", String(this.respPort(i))] : []),
      ...(this.tlsDir === undefined ? [] : tlsNodeArgs(this.tlsDir, i + 1)),
      ...this.extraArgs,
    ];
    this.procs[i] = new Proc(process.execPath, args, join(this.root, `node-${i + 1}.log`));
  }

  alive(i: number): boolean {
    return this.procs[i]?.alive ?? false;
  }
  pid(i: number): number {
    return this.procs[i]?.child.pid ?? -1;
  }

  async clusterView(i: number): Promise<{ leader: number; term: number; applied: number; commit: number }> {
    const a = await http(
      this.pools[i] as Pool,
      "GET",
      "/v1/cluster",
      undefined,
      undefined,
      AbortSignal.timeout(CONTROL_TIMEOUT_MS),
    );
    if (a.status !== 200) throw new Error(`GET /v1/cluster: ${a.status}`);
    return JSON.parse(a.text);
  }

  async leader(): Promise<number | undefined> {
    for (let i = 0; i < this.size; i++) {
      if (!this.alive(i)) continue;
      const v = await this.clusterView(i).catch(() => undefined);
      // A node's claim counts only if the claimed leader is alive (a stale view names the dead one).
      if (v !== undefined && v.leader > 0 && this.alive(v.leader - 1)) return v.leader - 1;
    }
    return undefined;
  }

  async term(): Promise<number> {
    let t = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.alive(i)) t = Math.max(t, (await this.clusterView(i).catch(() => ({ term: 0 }))).term);
    }
    return t;
  }

  async applied(i: number): Promise<number> {
    return (await this.clusterView(i)).applied;
  }

  async kill(i: number): Promise<void> {
    await this.procs[i]?.kill("SIGKILL");
  }

  async restart(i: number): Promise<void> {
    if (this.alive(i)) throw new Error(`node ${i + 1} is still running`);
    this.spawn(i);
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p?.kill("SIGKILL")));
    await Promise.all(this.pools.map((p) => p.close()));
    rmSync(this.root, { recursive: true, force: true });
  }
}

export interface EtcdOptions {
  readonly nodes: number;
  /** Omitted: etcd's defaults (100 ms heartbeat, 1000 ms election). */
  readonly heartbeatMs?: number;
  readonly electionMs?: number;
}

interface EtcdStatus {
  header: { member_id: string; raft_term: string };
  leader: string;
  raftIndex: string;
  raftTerm: string;
  raftAppliedIndex?: string;
}

/** etcd (Debian's 3.4) cluster with default durability (fsync per batch), driven through its JSON gateway. */
export class EtcdCluster implements Cluster {
  readonly name = "etcd";
  readonly clientUrls: string[];
  readonly pools: Pool[];
  private readonly peerUrls: string[];
  private readonly procs: (Proc | undefined)[];
  private readonly root: string;
  private started = false;

  constructor(
    readonly size: number,
    private readonly o: EtcdOptions,
  ) {
    this.root = mkdtempSync(join(tmpdir(), "etcd-bench-"));
    this.peerUrls = Array.from({ length: size }, (_, i) => `http://127.0.0.1:${PORTS.etcdPeer + i + 1}`);
    this.clientUrls = Array.from({ length: size }, (_, i) => `http://127.0.0.1:${PORTS.etcdClient + i + 1}`);
    this.pools = this.clientUrls.map((u) => httpPool(u, 2, CONTROL_TIMEOUT_MS));
    this.procs = Array.from({ length: size }, () => undefined);
  }

  static async start(o: EtcdOptions): Promise<EtcdCluster> {
    const c = new EtcdCluster(o.nodes, o);
    await assertPortsFree([...c.peerUrls, ...c.clientUrls]);
    for (let i = 0; i < c.size; i++) c.spawn(i);
    c.started = true;
    await waitUntil("an etcd leader", 30_000, async () => (await c.leader()) !== undefined);
    return c;
  }

  private spawn(i: number): void {
    const name = `e${i + 1}`;
    const args = [
      "--name",
      name,
      "--data-dir",
      join(this.root, name),
      "--initial-cluster",
      this.peerUrls.map((u, j) => `e${j + 1}=${u}`).join(","),
      "--initial-cluster-state",
      this.started ? "existing" : "new",
      "--initial-cluster-token",
      "bench",
      "--listen-peer-urls",
      this.peerUrls[i] as string,
      "--initial-advertise-peer-urls",
      this.peerUrls[i] as string,
      "--listen-client-urls",
      this.clientUrls[i] as string,
      "--advertise-client-urls",
      this.clientUrls[i] as string,
      "--log-level",
      "warn",
      ...(this.o.heartbeatMs === undefined ? [] : ["--heartbeat-interval", String(this.o.heartbeatMs)]),
      ...(this.o.electionMs === undefined ? [] : ["--election-timeout", String(this.o.electionMs)]),
    ];
    this.procs[i] = new Proc("etcd", args, join(this.root, `${name}.log`));
  }

  alive(i: number): boolean {
    return this.procs[i]?.alive ?? false;
  }
  pid(i: number): number {
    return this.procs[i]?.child.pid ?? -1;
  }

  async status(i: number): Promise<EtcdStatus> {
    const a = await http(
      this.pools[i] as Pool,
      "POST",
      "/v3/maintenance/status",
      "{}",
      undefined,
      AbortSignal.timeout(CONTROL_TIMEOUT_MS),
    );
    if (a.status !== 200) throw new Error(`etcd status: ${a.status} ${a.text}`);
    return JSON.parse(a.text);
  }

  async leader(): Promise<number | undefined> {
    const ids = new Map<string, number>();
    let leaderId: string | undefined;
    for (let i = 0; i < this.size; i++) {
      if (!this.alive(i)) continue;
      const s = await this.status(i).catch(() => undefined);
      if (s === undefined) continue;
      ids.set(s.header.member_id, i);
      if (s.leader !== undefined && s.leader !== "0") leaderId ??= s.leader;
    }
    return leaderId === undefined ? undefined : ids.get(leaderId);
  }

  async term(): Promise<number> {
    let t = 0;
    for (let i = 0; i < this.size; i++) {
      if (this.alive(i))
        t = Math.max(t, Number((await this.status(i).catch(() => undefined))?.raftTerm ?? 0));
    }
    return t;
  }

  async applied(i: number): Promise<number> {
    const s = await this.status(i);
    return Number(s.raftAppliedIndex ?? s.raftIndex);
  }

  async kill(i: number): Promise<void> {
    await this.procs[i]?.kill("SIGKILL");
  }

  async restart(i: number): Promise<void> {
    if (this.alive(i)) throw new Error(`etcd member ${i + 1} is still running`);
    this.spawn(i);
  }

  async close(): Promise<void> {
    await Promise.all(this.procs.map((p) => p?.kill("SIGKILL")));
    await Promise.all(this.pools.map((p) => p.close()));
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Single Redis with an fsync per write (appendfsync always), no RDB snapshots. */
export class RedisServer {
  readonly port = PORTS.redis;
  private constructor(
    private readonly proc: Proc,
    private readonly root: string,
  ) {}

  static async start(): Promise<RedisServer> {
    await assertPortsFree([`http://127.0.0.1:${PORTS.redis}`]);
    const root = mkdtempSync(join(tmpdir(), "redis-bench-"));
    const args = ["--port", String(PORTS.redis), "--bind", "127.0.0.1", "--dir", root];
    args.push("--appendonly", "yes", "--appendfsync", "always", "--save", "");
    const r = new RedisServer(new Proc("redis-server", args, join(root, "redis.log")), root);
    await waitUntil("redis", 10_000, async () => {
      const c = await RespConn.open(r.port);
      try {
        return (await c.command(["PING"])) === "PONG";
      } finally {
        c.close();
      }
    });
    return r;
  }

  get pid(): number {
    return this.proc.child.pid ?? -1;
  }

  async close(): Promise<void> {
    await this.proc.kill("SIGKILL");
    rmSync(this.root, { recursive: true, force: true });
  }
}

export type RespValue = string | number | null | RespValue[];

/** A reply larger than this is a bug in the bench, not something to buffer. */
const RESP_REPLY_BYTES_MAX = 16 * 1024 * 1024;

/** Minimal RESP2 client: one command in flight per connection (concurrency = connections). */
export class RespConn {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (v: RespValue) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(private readonly sock: Socket) {
    sock.setNoDelay(true);
    sock.on("data", (d) => this.onData(d));
    sock.on("error", (e) => this.fail(e));
    sock.on("close", () => this.fail(new Error("redis connection closed")));
  }

  static open(port: number): Promise<RespConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port }, () => {
        s.off("error", reject);
        resolve(new RespConn(s));
      });
      s.once("error", reject);
    });
  }

  command(args: readonly string[]): Promise<RespValue> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error("one command at a time per connection"));
    let out = `*${args.length}\r\n`;
    for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.sock.write(out);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (this.buf.length > RESP_REPLY_BYTES_MAX) {
      this.fail(new Error("redis reply too large"));
      return;
    }
    const parsed = parseResp(this.buf, 0);
    if (parsed === undefined) return;
    this.buf = this.buf.subarray(parsed.end);
    const w = this.waiter;
    this.waiter = undefined;
    if (parsed.error !== undefined) w?.reject(new Error(`redis: ${parsed.error}`));
    else w?.resolve(parsed.value);
  }
}

/** Parses one reply at `at`; undefined if it is not complete yet. */
function parseResp(b: Buffer, at: number): { value: RespValue; end: number; error?: string } | undefined {
  const eol = b.indexOf("\r\n", at);
  if (eol < 0) return undefined;
  const line = b.toString("latin1", at + 1, eol);
  const next = eol + 2;
  switch (b[at]) {
    case 0x2b /* + */:
      return { value: line, end: next };
    case 0x2d /* - */:
      return { value: null, end: next, error: line };
    case 0x3a /* : */:
      return { value: Number(line), end: next };
    case 0x24 /* $ */:
      {
        const n = Number(line);
        if (n < 0) return { value: null, end: next };
        if (b.length < next + n + 2) return undefined;
        return { value: b.toString("utf8", next, next + n), end: next + n + 2 };
      }
    case 0x2a /* * */:
      {
        const n = Number(line);
        if (n < 0) return { value: null, end: next };
        const items: RespValue[] = [];
        let pos = next;
        for (let k = 0; k < n; k++) {
          const item = parseResp(b, pos);
          if (item === undefined) return undefined;
          items.push(item.value);
          pos = item.end;
        }
        return { value: items, end: pos };
      }
    default:
      throw new Error(`unexpected RESP byte ${b[at]}`);
  }
}
