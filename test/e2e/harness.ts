// Real node processes on 127.0.0.1 for e2e tests: start, SIGKILL, SIGSTOP/SIGCONT, HTTP helpers.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const MAIN = resolve("dist/src/node/main.js");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILLs node processes a console printed, in case it could not stop them (it should have). */
export function killPids(pids: Iterable<number>): void {
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Headers;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/**
 * A cluster of `size` node processes. Node i (1-based) listens for peers on basePort + 10·i and for
 * clients on basePort + 10·i + 1 (the seed's "client = peer + 1" convention).
 */
export class Cluster {
  readonly dir: string;
  readonly procs = new Map<number, ChildProcess>();
  private readonly stderr = new Map<number, string>();
  private readonly exits = new Map<number, Promise<ExitInfo>>();

  constructor(
    readonly size: number,
    readonly basePort: number,
    readonly extraArgs: readonly string[] = [],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), "raftstack-e2e-"));
  }

  peerUrl(i: number): string {
    return `http://127.0.0.1:${this.basePort + 10 * i}`;
  }

  port(i: number): number {
    return this.basePort + 10 * i + 1;
  }

  url(i: number): string {
    return `http://127.0.0.1:${this.port(i)}`;
  }

  dataDir(i: number): string {
    return join(this.dir, `node-${i}`);
  }

  ids(): number[] {
    return Array.from({ length: this.size }, (_, k) => k + 1);
  }

  args(i: number): string[] {
    const cluster = this.ids()
      .map((k) => this.peerUrl(k))
      .join(",");
    return [
      "--id",
      String(i),
      "--cluster",
      cluster,
      "--port",
      String(this.port(i)),
      "--data-dir",
      this.dataDir(i),
      "--log-level",
      "info",
      ...this.extraArgs,
    ];
  }

  /** Starts node i; its stdout (pino logs) goes to a file in the cluster dir for post-mortems. */
  start(i: number): ChildProcess {
    const child = spawn(process.execPath, [MAIN, ...this.args(i)], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.pipe(createWriteStream(join(this.dir, `node-${i}.log`), { flags: "a" }));
    this.stderr.set(i, "");
    child.stderr?.on("data", (d: Buffer) => this.stderr.set(i, (this.stderr.get(i) ?? "") + d.toString()));
    this.procs.set(i, child);
    this.exits.set(
      i,
      new Promise((res) =>
        child.on("exit", (code, signal) => res({ code, signal, stderr: this.stderr.get(i) ?? "" })),
      ),
    );
    return child;
  }

  startAll(): void {
    for (const i of this.ids()) this.start(i);
  }

  alive(i: number): boolean {
    const p = this.procs.get(i);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  signal(i: number, sig: NodeJS.Signals): void {
    this.procs.get(i)?.kill(sig);
  }

  /** SIGKILLs node i and waits for the process to be gone. */
  async kill(i: number): Promise<void> {
    const exit = this.exits.get(i);
    if (!this.alive(i)) return;
    this.signal(i, "SIGCONT");
    this.signal(i, "SIGKILL");
    await exit;
  }

  exited(i: number): Promise<ExitInfo> {
    return this.exits.get(i) ?? Promise.reject(new Error(`node ${i} never started`));
  }

  async stop(): Promise<void> {
    await Promise.all(this.ids().map((i) => this.kill(i)));
  }

  /** Kills every child and removes the data unless KEEP_E2E is set (for debugging). */
  async destroy(): Promise<void> {
    await this.stop();
    if (process.env.KEEP_E2E === undefined) rmSync(this.dir, { recursive: true, force: true });
    else process.stderr.write(`e2e data kept in ${this.dir}\n`);
  }

  async http(
    i: number,
    method: string,
    path: string,
    body?: string | Uint8Array,
    headers: Record<string, string> = {},
    timeoutMs = 5000,
  ): Promise<HttpAnswer> {
    const res = await fetch(`${this.url(i)}${path}`, {
      method,
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, body: await res.text(), headers: res.headers };
  }

  /** Retries a request (same headers, so the same Idempotency-Key) on live nodes until it is not a 503. */
  async retry(
    nodes: readonly number[],
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
    deadlineMs = 8000,
  ): Promise<HttpAnswer & { node: number }> {
    const deadline = Date.now() + deadlineMs;
    let k = 0;
    let last = "";
    while (Date.now() < deadline) {
      const node = nodes[k++ % nodes.length] ?? 1;
      try {
        const a = await this.http(node, method, path, body, headers, 3000);
        if (a.status !== 503) return { ...a, node };
        last = `503 ${a.body}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(50);
    }
    throw new Error(`${method} ${path} kept failing: ${last}`);
  }

  async status(
    i: number,
  ): Promise<{ leader: number; role: string; term: number; commit: number; applied: number }> {
    const a = await this.http(i, "GET", "/v1/cluster?local=1", undefined, {}, 1000);
    return JSON.parse(a.body);
  }

  /** Waits until every node in `among` agrees on one leader (itself in `among`); returns its id. */
  async waitLeader(among: readonly number[] = this.ids(), timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const leaders = await Promise.all(among.map(async (i) => (await this.status(i)).leader));
        const first = leaders[0] ?? 0;
        if (first !== 0 && among.includes(first) && leaders.every((l) => l === first)) return first;
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    throw new Error(`no agreed leader among ${among.join(",")} within ${timeoutMs} ms`);
  }

  /** Waits until node i has applied at least `index`. */
  async waitApplied(i: number, index: number, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let seen = -1;
    while (Date.now() < deadline) {
      try {
        seen = (await this.status(i)).applied;
        if (seen >= index) return;
      } catch {
        // restarting
      }
      await sleep(50);
    }
    throw new Error(`node ${i} applied ${seen}, not ${index}, within ${timeoutMs} ms`);
  }

  /** Reads one metric sample value (first line starting with `name`) from node i. */
  async metric(i: number, name: string): Promise<number> {
    const text = (await this.http(i, "GET", "/metrics")).body;
    const line = text.split("\n").find((l) => l.startsWith(name));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
  }
}

/** Runs curl with the given arguments (as the README shows them) and returns stdout. */
export function curl(args: readonly string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((res, rej) => {
    execFile("curl", [...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) rej(new Error(`curl ${args.join(" ")}: ${err.message} ${stderr}`));
      else res(stdout);
    });
  });
}

/** Ensures children die even if a test crashes before its `after` hook. */
const clusters = new Set<Cluster>();
export function track(c: Cluster): Cluster {
  clusters.add(c);
  return c;
}
process.on("exit", () => {
  for (const c of clusters) for (const p of c.procs.values()) p.kill("SIGKILL");
});
