import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { RaftstackClient } from "../client/index.js";
import { addDevNodeCert, certFiles, tlsNodeArgs } from "./certs.js";
import { type AddedNode, isEmptyDir, readConsoleState, writeConsoleState } from "./console-state.js";
import { type ProcessState, processText } from "./control.js";
import { freePorts } from "./free-ports.js";
import { addMember, joinClusterArg, waitVoter } from "./membership.js";
import { NodeLines, utcTime } from "./node-lines.js";
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
  /** The command that runs raftstack here (see invokedAs in invoked-as.ts), for the banner's hints. */
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
  readonly peerPort: number;
  readonly respPort: number | undefined;
  /** The --cluster it starts with: the console's list for nodes 1..N, every member's id=peerURL for an added one. */
  readonly cluster: string;
  /** Added and not yet seen as a voter: starts with --join (it learns the configuration from the leader). */
  joining: boolean;
  proc: ChildProcess | undefined;
  paused: boolean;
  /** The console is stopping or killing it: that exit is `stopped`, any other one unexpected. */
  stopping: boolean;
  /** How it last ended without the console asking (`SIGKILL`, `code 1`); undefined when stopped from here. */
  unasked: string | undefined;
  exited: Promise<void>;
}

/** Node N's Redis port is N6379 with the default step (Redis's 6379 under the node number). */
export const RESP_BASE_PORT_DEFAULT = 16379;

/** How long `add` waits for the new node to be promoted to voter before it reports why not. */
export const ADD_VOTER_WAIT_MS = 30_000;
const ADD_POLL_MS = 200;

/** The CLI entry the children run (`raftstack node ...`), next to this module in dist/. */
const CLI_MAIN = fileURLToPath(new URL("./main.js", import.meta.url));

/**
 * Runs N node processes on one machine, the way goreman runs the seed's Procfile: prefixed log
 * lines in one terminal, and stop/start/kill/pause/resume of single nodes. `add` grows the cluster by
 * a node it then supervises like the others, `remove N` shrinks it. Children get their own process
 * group so the terminal's Ctrl-C reaches only this supervisor, which stops them in order.
 */
export class LocalCluster {
  /** The nodes this console runs, by id (added ones included, removed ones dropped). */
  private readonly members = new Map<number, Member>();
  /** Ids removed through this console (or an earlier one here): never reused, so `add` picks above them. */
  private readonly removed = new Set<number>();
  /** Nodes `add` started (here or in an earlier console in this base dir), saved with `removed`. */
  private readonly added = new Set<number>();
  /** The nodes log JSON (pino); the console shows each line readable, one line per record, timed. */
  private readonly lines: NodeLines;
  private readonly scheme: "http" | "https";
  /** Set by stopAll: no node starts any more (an `add` in progress gives up). */
  private closing = false;

  constructor(private readonly opts: LocalClusterOptions) {
    this.scheme = opts.tlsDir === undefined ? "http" : "https";
    const ids = Array.from({ length: opts.nodes }, (_, i) => i + 1);
    const peerUrls = ids.map((id) => this.url(this.schemePorts(id).peer)).join(",");
    for (const id of ids)
      this.members.set(id, { ...this.newMember(id, this.schemePorts(id)), cluster: peerUrls });
    this.restore();
    this.lines = new NodeLines(opts.color);
  }

  /**
   * Takes up the cluster an earlier console left in this base dir: removed ids stay out, added nodes are
   * run again. Only where their data dirs still exist: a wiped base dir starts a new cluster, which an
   * added node's --cluster (naming the old members) must not join.
   */
  private restore(): void {
    const saved = readConsoleState(this.opts.baseDir);
    for (const id of saved.removed) {
      if (!existsSync(this.dataDir(id))) continue;
      this.members.delete(id);
      this.removed.add(id);
    }
    for (const a of saved.added) {
      if (isEmptyDir(this.dataDir(a.id)) || this.removed.has(a.id)) continue;
      const ports = { client: a.clientPort, peer: a.peerPort, resp: a.respPort };
      this.members.set(a.id, { ...this.newMember(a.id, ports), cluster: a.cluster, joining: a.joining });
      this.added.add(a.id);
    }
  }

  private save(): void {
    const added: AddedNode[] = [];
    for (const id of this.added) {
      const m = this.members.get(id);
      if (m === undefined || this.removed.has(id)) continue;
      const { clientPort, peerPort, respPort, cluster, joining } = m;
      added.push({
        id,
        clientPort,
        peerPort,
        ...(respPort === undefined ? {} : { respPort }),
        cluster,
        joining,
      });
    }
    writeConsoleState(this.opts.baseDir, { added, removed: [...this.removed] });
  }

  /** Node `id`'s ports in the console's scheme: client basePort + (id-1)*portStep, peer one less. */
  private schemePorts(id: number): { client: number; peer: number; resp: number | undefined } {
    const { basePort, portStep, respBasePort } = this.opts;
    const client = basePort + (id - 1) * portStep;
    return {
      client,
      peer: client - 1,
      resp: respBasePort === 0 ? undefined : respBasePort + (id - 1) * portStep,
    };
  }

  private newMember(
    id: number,
    ports: { client: number; peer: number; resp: number | undefined },
  ): Omit<Member, "cluster"> {
    return {
      id,
      name: `raftstack${id}`,
      clientPort: ports.client,
      peerPort: ports.peer,
      respPort: ports.resp,
      joining: false,
      proc: undefined,
      paused: false,
      stopping: false,
      unasked: undefined,
      exited: Promise.resolve(),
    };
  }

  private url(port: number): string {
    return `${this.scheme}://127.0.0.1:${port}`;
  }

  private get running(): Member[] {
    return [...this.members.values()].sort((a, b) => a.id - b.id);
  }

  /** Each node's process as the console knows it (the control API's node list). */
  processes(): ProcessState[] {
    return this.running.map((m) => {
      const node = { id: m.id, name: m.name, pid: m.proc?.pid };
      if (m.proc !== undefined) return { ...node, process: m.paused ? "paused" : "running" };
      return m.unasked === undefined
        ? { ...node, process: "stopped" }
        : { ...node, process: "exited", exit: m.unasked };
    });
  }

  get endpoints(): string[] {
    return this.running.map((m) => this.url(m.clientPort));
  }

  startAll(): void {
    for (const m of this.running) this.start(m.id);
  }

  /**
   * The --cluster node `m` starts with. A node that has data already takes its members from the log, and
   * warns when --cluster differs: after an `add` or `remove` its first list would, so it gets the members
   * this console runs now. A node starting empty gets the list it was made with (its bootstrap, or the
   * members it joins).
   */
  private clusterArg(m: Member): string {
    if (isEmptyDir(this.dataDir(m.id))) return m.cluster;
    return [...this.members.values()]
      .sort((a, b) => a.id - b.id)
      .map((x) => `${x.id}=${this.url(x.peerPort)}`)
      .join(",");
  }

  start(id: number): void {
    const m = this.member(id);
    if (m.proc !== undefined) {
      this.say(`${m.name} is already running (pid ${m.proc.pid})`);
      return;
    }
    if (this.closing) return;
    const args = [
      CLI_MAIN,
      "node",
      "--id",
      String(m.id),
      "--cluster",
      this.clusterArg(m),
      ...(m.joining ? ["--join"] : []),
      "--port",
      String(m.clientPort),
      ...(m.respPort === undefined ? [] : ["--resp-port", String(m.respPort)]),
      "--data-dir",
      this.dataDir(m.id),
      ...(this.opts.tlsDir === undefined ? [] : tlsNodeArgs(this.opts.tlsDir, m.id)),
      ...this.opts.nodeArgs,
    ];
    const proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    m.proc = proc;
    m.paused = false;
    m.stopping = false;
    m.unasked = undefined;
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on("line", (line) => this.log(m, line));
    }
    m.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        const how = signal ?? `code ${code}`;
        if (m.proc === proc) {
          m.proc = undefined;
          m.unasked = m.stopping ? undefined : how;
        }
        this.event(`${m.name} exited (${how})`);
        resolve();
      });
    });
    proc.on("error", (err) => this.event(`${m.name}: ${err.message}`));
    const tls = this.opts.tlsDir === undefined ? "" : " over TLS";
    const resp = m.respPort === undefined ? "" : `, redis 127.0.0.1:${m.respPort}${tls}`;
    const join = m.joining ? ", joining" : "";
    this.event(`${m.name} started (pid ${proc.pid}, client ${this.url(m.clientPort)}${resp}${join})`);
  }

  private dataDir(id: number): string {
    return join(this.opts.baseDir, `raftstack-${id}`);
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
    this.event(`${m.name} paused`);
  }

  resume(id: number): void {
    const m = this.member(id);
    if (m.proc === undefined) {
      this.say(`${m.name} is not running`);
      return;
    }
    this.signal(m, "SIGCONT");
    m.paused = false;
    this.event(`${m.name} resumed`);
  }

  /**
   * Grows the cluster by one node: ports in the console's scheme for the next id where free (else free
   * ones), the membership API's add (as `raftstack member add`), the node started with --join under this
   * console, and a wait until the leader promotes it to voter (or the reason it is not one).
   */
  async add(): Promise<void> {
    const api = this.client();
    try {
      // The leader picks the id: the next unused one, which the member list and this console's ids bound
      // from below (ids removed before this console ran are in neither; then the scheme is another id's).
      const listed = (await api.members().catch(() => undefined))?.members.map((m) => m.id) ?? [];
      const next = Math.max(0, ...this.members.keys(), ...this.removed, ...listed) + 1;
      const scheme = this.schemePorts(next);
      const wanted = [scheme.client, scheme.peer, ...(scheme.resp === undefined ? [] : [scheme.resp])];
      const [client = 0, peer = 0, resp] = await freePorts(wanted);
      const ports = { client, peer, resp };
      const result = await addMember(api, this.url(peer), { clientUrl: this.url(client) });
      const { id } = result.added;
      // Under --tls the new node needs a certificate from the console's development CA.
      if (this.opts.tlsDir !== undefined) addDevNodeCert(this.opts.tlsDir, id);
      const m: Member = { ...this.newMember(id, ports), cluster: joinClusterArg(result), joining: true };
      this.members.set(id, m);
      this.added.add(id);
      this.save();
      this.event(`added ${m.name} to the cluster as a learner (peer ${this.url(peer)})`);
      if (!isEmptyDir(this.dataDir(id))) {
        this.say(
          `${m.name} not started: its data dir ${this.dataDir(id)} holds another cluster's data; ` +
            `move it away, then start ${id} (or remove ${id})`,
        );
        return;
      }
      this.start(id);
      const wait = await waitVoter(api, id, {
        deadlineMs: ADD_VOTER_WAIT_MS,
        pollMs: ADD_POLL_MS,
        gone: () =>
          this.closing
            ? "the console is stopping"
            : m.proc === undefined
              ? `${m.name} is not running`
              : undefined,
      });
      if (wait.voter) {
        // It holds the configuration now: a restart uses its data dir without --join.
        m.joining = false;
        this.save();
        this.event(`${m.name} is a voter (${wait.ms} ms after it started)`);
      } else this.event(`${m.name} is not a voter: ${wait.why} (start ${id} again, or remove ${id})`);
    } finally {
      await api.close();
    }
  }

  /**
   * Shrinks the cluster: the membership API's remove (a leader hands off first), then the node's process
   * is stopped. Its data dir is kept (a removed id never comes back; the dir is there to be read).
   */
  async remove(id: number): Promise<void> {
    const api = this.client();
    try {
      await api.removeMember(id);
    } finally {
      await api.close();
    }
    this.removed.add(id);
    this.save();
    const m = this.members.get(id);
    if (m === undefined) {
      this.event(`node ${id} removed from the cluster (not one this console runs)`);
      return;
    }
    if (m.proc !== undefined) await this.stop(id);
    this.members.delete(id);
    this.event(`${m.name} removed from the cluster and stopped; its data dir ${this.dataDir(id)} is kept`);
  }

  /** A client of the nodes this console runs, for the membership API. */
  private client(): RaftstackClient {
    return new RaftstackClient({ endpoints: this.endpoints, ...this.credentials() });
  }

  private credentials(): { tls?: { ca: Buffer } } {
    return this.opts.tlsDir === undefined
      ? {}
      : { tls: { ca: readFileSync(certFiles(this.opts.tlsDir).ca) } };
  }

  async stopAll(): Promise<void> {
    this.closing = true;
    await Promise.all(this.running.map((m) => (m.proc === undefined ? undefined : this.stop(m.id))));
  }

  /** Last resort when the supervisor itself exits: no node outlives it. */
  killAllSync(): void {
    for (const m of this.members.values()) if (m.proc !== undefined) this.signal(m, "SIGKILL");
  }

  async statusText(): Promise<string> {
    const rows = (await probeStatus(this.endpoints, this.credentials())).map(statusCells);
    const procs = this.processes().map((p) => [
      p.name,
      processText(p),
      p.pid === undefined ? "-" : String(p.pid),
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
    if (verb === "add") {
      await this.add();
      return true;
    }
    const n = Number(arg?.replace(/^raftstack-?/, ""));
    if (verb === "remove") {
      // Any member, also one this console does not run (added with `member add` elsewhere).
      if (Number.isInteger(n) && n >= 1) await this.remove(n);
      else this.say("remove: expected a member id");
      return true;
    }
    const run: Record<string, ((id: number) => unknown) | undefined> = {
      start: (id) => this.start(id),
      stop: (id) => this.stop(id),
      restart: async (id) => {
        await this.stop(id);
        this.start(id);
      },
      kill: (id) => this.kill(id),
      pause: (id) => this.pause(id),
      resume: (id) => this.resume(id),
    };
    const action = run[verb];
    if (action === undefined) this.say(`unknown command: ${verb}\n${CONSOLE_HELP}`);
    else if (this.members.has(n)) await action(n);
    else if (this.removed.has(n)) this.say(`${verb}: node ${n} was removed from the cluster`);
    else
      this.say(
        `${verb}: expected one of this console's nodes: ${[...this.members.keys()].sort((a, b) => a - b).join(", ")}`,
      );
    return true;
  }

  private member(id: number): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new RangeError(`no node ${id}`);
    return m;
  }

  private signal(m: Member, sig: NodeJS.Signals): void {
    // Only the console's stop, kill and exit end a node from here: its exit is then no surprise.
    if (sig === "SIGTERM" || sig === "SIGKILL") m.stopping = true;
    try {
      m.proc?.kill(sig);
    } catch {
      // Already gone: its exit handler reports it.
    }
  }

  private log(m: Member, line: string): void {
    const width = `raftstack${Math.max(...this.members.keys())}`.length;
    this.opts.out.write(this.lines.format(m.id, m.name, width, line));
  }

  /** What happened to a node (started, exited, paused, ...): timed like its log lines; replies to commands are not. */
  private event(text: string): void {
    this.say(`[${utcTime(Date.now())}] ${text}`);
  }

  private say(text: string): void {
    this.opts.out.write(`${text}\n`);
  }
}

export const CONSOLE_HELP =
  "commands: stop N | start N | restart N | kill N (SIGKILL) | pause N (SIGSTOP) | resume N | " +
  "add (a new node, until it is a voter) | remove N (from the cluster; its data dir is kept) | status | quit";
