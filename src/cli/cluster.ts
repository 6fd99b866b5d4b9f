import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { prettyFactory } from "pino-pretty";
import { certFiles, tlsNodeArgs } from "./certs.js";
import { ControlServer, dashboardUrl, type ProcessState } from "./control.js";
import { DEFAULT_ENDPOINTS } from "./endpoints.js";
import { probeStatus, STATUS_HEADER, statusCells } from "./status.js";
import { formatTable } from "./table.js";

export interface LocalClusterOptions {
  readonly nodes: number;
  /** Node i keeps its data in <baseDir>/raftstack-<i>, like the Procfile's ./raftstack-<i>. */
  readonly baseDir: string;
  /** Client port of node 1; node i gets basePort + (i-1)*portStep, its peer port is one less. */
  readonly basePort: number;
  readonly portStep: number;
  /** Redis protocol port of node 1 (node i: + (i-1)*portStep); 0 = no RESP listener. */
  readonly respBasePort: number;
  /** Extra node flags passed to every node (e.g. --tick-ms 5). */
  readonly nodeArgs: readonly string[];
  readonly out: NodeJS.WritableStream;
  readonly color: boolean;
  /** Time a node gets to exit after SIGTERM before it is SIGKILLed. */
  readonly stopTimeoutMs: number;
  /** The command that runs raftstack here (see invokedAs), for the banner's hints. */
  readonly self: string;
  /** Port of the control API the dashboard's buttons call (loopback only); 0 picks a free one. */
  readonly controlPort?: number;
  /** Certificates from `raftstack certs` here: client HTTPS and peer mTLS (`cluster --tls`). */
  readonly tlsDir?: string;
}

export const STOP_TIMEOUT_MS_DEFAULT = 10_000;

interface Member {
  readonly id: number;
  readonly name: string;
  readonly clientPort: number;
  proc: ChildProcess | undefined;
  paused: boolean;
  exited: Promise<void>;
}

/** Node N's Redis port is N6379 with the default step (Redis's 6379 under the node number). */
export const RESP_BASE_PORT_DEFAULT = 16379;

const COLORS = [36, 33, 32, 35, 34, 91, 92, 93, 94, 95];
/** The CLI entry the children run (`raftstack node ...`), next to this module in dist/. */
const CLI_MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

/**
 * Runs N node processes on one machine, the way goreman runs the seed's Procfile: prefixed log
 * lines in one terminal, and stop/start/kill/pause/resume of single nodes. Children get their own
 * process group so the terminal's Ctrl-C reaches only this supervisor, which stops them in order.
 */
export class LocalCluster {
  private readonly members: Member[];
  private readonly peerUrls: string;
  /** The nodes log JSON (pino); the console shows each line readable, one line per record. */
  private readonly pretty: (line: string) => string;
  private readonly scheme: "http" | "https";

  constructor(private readonly opts: LocalClusterOptions) {
    this.members = Array.from({ length: opts.nodes }, (_, i) => ({
      id: i + 1,
      name: `raftstack${i + 1}`,
      clientPort: opts.basePort + i * opts.portStep,
      proc: undefined,
      paused: false,
      exited: Promise.resolve(),
    }));
    this.scheme = opts.tlsDir === undefined ? "http" : "https";
    this.peerUrls = this.members.map((m) => `${this.scheme}://127.0.0.1:${m.clientPort - 1}`).join(",");
    this.pretty = prettyFactory({
      colorize: opts.color,
      singleLine: true,
      translateTime: "HH:MM:ss.l",
      ignore: "pid,hostname,node",
    });
  }

  /** Each node's process as the console knows it (the control API's node list). */
  processes(): ProcessState[] {
    return this.members.map((m) => ({
      id: m.id,
      name: m.name,
      process: m.proc === undefined ? "stopped" : m.paused ? "paused" : "running",
      pid: m.proc?.pid,
    }));
  }

  get endpoints(): string[] {
    return this.members.map((m) => `${this.scheme}://127.0.0.1:${m.clientPort}`);
  }

  startAll(): void {
    for (const m of this.members) this.start(m.id);
  }

  start(id: number): void {
    const m = this.member(id);
    if (m.proc !== undefined) {
      this.say(`${m.name} is already running (pid ${m.proc.pid})`);
      return;
    }
    const args = [
      CLI_MAIN,
      "node",
      "--id",
      String(m.id),
      "--cluster",
      this.peerUrls,
      "--port",
      String(m.clientPort),
      ...(this.respPort(m) === undefined ? [] : ["--resp-port", String(this.respPort(m))]),
      "--data-dir",
      join(this.opts.baseDir, m.name.replace("raftstack", "raftstack-")),
      ...(this.opts.tlsDir === undefined ? [] : tlsNodeArgs(this.opts.tlsDir, m.id)),
      ...this.opts.nodeArgs,
    ];
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    m.proc = proc;
    m.paused = false;
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on("line", (line) => this.log(m, line));
    }
    m.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        if (m.proc === proc) m.proc = undefined;
        this.say(`${m.name} exited (${signal === null ? `code ${code}` : signal})`);
        resolve();
      });
    });
    proc.on("error", (err) => this.say(`${m.name}: ${err.message}`));
    const resp = this.respPort(m) === undefined ? "" : `, redis 127.0.0.1:${this.respPort(m)}`;
    this.say(`${m.name} started (pid ${proc.pid}, client ${this.scheme}://127.0.0.1:${m.clientPort}${resp})`);
  }

  private respPort(m: Member): number | undefined {
    const { respBasePort, portStep } = this.opts;
    return respBasePort === 0 ? undefined : respBasePort + (m.id - 1) * portStep;
  }

  /** Graceful: SIGTERM (the node hands off leadership and flushes), SIGKILL after stopTimeoutMs. */
  async stop(id: number): Promise<void> {
    const m = this.member(id);
    const proc = m.proc;
    if (proc === undefined) {
      this.say(`${m.name} is not running`);
      return;
    }
    if (m.paused) this.signal(m, "SIGCONT");
    this.signal(m, "SIGTERM");
    const timer = setTimeout(() => this.signal(m, "SIGKILL"), this.opts.stopTimeoutMs);
    await m.exited;
    clearTimeout(timer);
  }

  async kill(id: number): Promise<void> {
    const m = this.member(id);
    if (m.proc === undefined) {
      this.say(`${m.name} is not running`);
      return;
    }
    this.signal(m, "SIGKILL");
    await m.exited;
  }

  pause(id: number): void {
    const m = this.member(id);
    if (m.proc === undefined) {
      this.say(`${m.name} is not running`);
      return;
    }
    this.signal(m, "SIGSTOP");
    m.paused = true;
    this.say(`${m.name} paused`);
  }

  resume(id: number): void {
    const m = this.member(id);
    if (m.proc === undefined) {
      this.say(`${m.name} is not running`);
      return;
    }
    this.signal(m, "SIGCONT");
    m.paused = false;
    this.say(`${m.name} resumed`);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((m) => (m.proc === undefined ? undefined : this.stop(m.id))));
  }

  /** Last resort when the supervisor itself exits: no node outlives it. */
  killAllSync(): void {
    for (const m of this.members) if (m.proc !== undefined) this.signal(m, "SIGKILL");
  }

  async statusText(): Promise<string> {
    const tls =
      this.opts.tlsDir === undefined ? {} : { tls: { ca: readFileSync(certFiles(this.opts.tlsDir).ca) } };
    const rows = (await probeStatus(this.endpoints, tls)).map(statusCells);
    const procs = this.members.map((m) => [
      m.name,
      m.proc === undefined ? "stopped" : m.paused ? "paused" : "running",
      m.proc?.pid === undefined ? "-" : String(m.proc.pid),
    ]);
    return formatTable(
      ["name", "process", "pid", ...STATUS_HEADER],
      rows.map((r, i) => [...(procs[i] ?? []), ...r]),
    );
  }

  /** Executes one console command; resolves false on quit. */
  async command(line: string): Promise<boolean> {
    const [verb = "", arg] = line.trim().split(/\s+/);
    if (verb === "") return true;
    if (verb === "quit" || verb === "exit") return false;
    if (verb === "status") {
      this.say(await this.statusText());
      return true;
    }
    if (verb === "help") {
      this.say(CONSOLE_HELP);
      return true;
    }
    const id = this.parseId(arg);
    const run: Record<string, ((id: number) => unknown) | undefined> = {
      start: (n) => this.start(n),
      stop: (n) => this.stop(n),
      restart: async (n) => {
        await this.stop(n);
        this.start(n);
      },
      kill: (n) => this.kill(n),
      pause: (n) => this.pause(n),
      resume: (n) => this.resume(n),
    };
    const action = run[verb];
    if (action === undefined) this.say(`unknown command: ${verb}\n${CONSOLE_HELP}`);
    else if (id === undefined) this.say(`${verb}: expected a node number 1..${this.members.length}`);
    else await action(id);
    return true;
  }

  private parseId(arg: string | undefined): number | undefined {
    // Accept goreman's process names too: "stop raftstack2".
    const n = Number(arg?.replace(/^raftstack-?/, ""));
    return Number.isInteger(n) && n >= 1 && n <= this.members.length ? n : undefined;
  }

  private member(id: number): Member {
    const m = this.members[id - 1];
    if (m === undefined) throw new RangeError(`no node ${id}`);
    return m;
  }

  private signal(m: Member, sig: NodeJS.Signals): void {
    try {
      m.proc?.kill(sig);
    } catch {
      // Already gone: its exit handler reports it.
    }
  }

  private log(m: Member, line: string): void {
    const prefix = m.name.padEnd(`raftstack${this.members.length}`.length) + " | ";
    const color = COLORS[(m.id - 1) % COLORS.length];
    const text = line.startsWith("{") ? this.pretty(line).trimEnd() : line;
    this.opts.out.write(this.opts.color ? `\x1b[${color}m${prefix}\x1b[0m${text}\n` : `${prefix}${text}\n`);
  }

  private say(text: string): void {
    this.opts.out.write(`${text}\n`);
  }
}

export const CONSOLE_HELP =
  "commands: stop N | start N | restart N | kill N (SIGKILL) | pause N (SIGSTOP) | resume N | status | quit";

/** How the user ran raftstack, for the banner's hints: `raftstack` once installed, else `node bin/raftstack.js`. */
export function invokedAs(script: string): string {
  return basename(script) === "raftstack" ? "raftstack" : `node ${relative(process.cwd(), script) || script}`;
}

export function banner(endpoints: readonly string[], self: string, tlsDir?: string): string {
  const a = endpoints[0] ?? "http://127.0.0.1:12380";
  const b = endpoints[1] ?? a;
  const sameAsDefault = endpoints.join(",") === DEFAULT_ENDPOINTS.join(",");
  const curl = tlsDir === undefined ? "curl -L" : `curl --cacert ${certFiles(tlsDir).ca} -L`;
  const cacert = tlsDir === undefined ? "" : ` --cacert ${certFiles(tlsDir).ca}`;
  return [
    `raftstack: ${endpoints.length} nodes, client URLs ${endpoints.join(" ")}`,
    "try (any node answers; run them in another terminal):",
    `  ${curl} ${a}/sCreate -XPOST -d 1        # create stack with label "1" -> its id`,
    `  ${curl} ${a}/sPush -XPOST -d 1,10       # push 10 onto stack 1 -> new size`,
    `  ${curl} ${b}/sTop -XPOST -d 1           # -> 10`,
    `  ${curl} ${b}/sSize -XPOST -d 1          # -> 1`,
    `  ${curl} ${a}/sPop -XPOST -d 1           # -> 10`,
    `  ${self} status${sameAsDefault ? "" : ` --endpoints ${endpoints.join(",")}`}${cacert}`,
    CONSOLE_HELP,
    "Ctrl-C stops every node gracefully.",
  ].join("\n");
}

/**
 * The `raftstack cluster` command: starts the nodes, reads console commands from `input` until
 * quit or Ctrl-C, then stops every node. EOF on input keeps the cluster running (it may be detached).
 */
export async function runCluster(opts: LocalClusterOptions, input: NodeJS.ReadableStream): Promise<void> {
  const cluster = new LocalCluster(opts);
  const onExit = () => cluster.killAllSync();
  process.on("exit", onExit);
  opts.out.write(`${banner(cluster.endpoints, opts.self, opts.tlsDir)}\n`);
  const control = new ControlServer(cluster, {
    port: opts.controlPort ?? 0,
    allowedOrigins: cluster.endpoints.flatMap((e) => [e, e.replace("127.0.0.1", "localhost")]),
  });
  const controlUrl = await control.listen();
  opts.out.write(
    `dashboard (its buttons stop, kill, pause and restart nodes; keep this link private):\n` +
      `  ${dashboardUrl(cluster.endpoints[0] ?? "", controlUrl, control.token)}\n`,
  );
  cluster.startAll();
  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      opts.out.write("stopping all nodes...\n");
      await cluster.stopAll();
    })();
    return stopping;
  };
  let onSignal = () => {};
  await new Promise<void>((resolve) => {
    onSignal = () => void shutdown().then(resolve);
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const rl = createInterface({ input, terminal: false });
    // Commands run one at a time so "stop 2" finishes before "start 2" begins.
    let queue = Promise.resolve(true);
    rl.on("line", (line) => {
      queue = queue.then(async (running) => {
        if (!running) return false;
        const more = await cluster.command(line).catch((err: Error) => {
          opts.out.write(`error: ${err.message}\n`);
          return true;
        });
        if (!more) {
          rl.close();
          void shutdown().then(resolve);
        }
        return more;
      });
    });
  });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.off("exit", onExit);
  await control.close();
}
