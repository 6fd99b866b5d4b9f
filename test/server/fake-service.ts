import { pino } from "pino";
import type { Snapshot } from "../../src/raft/index.js";
import {
  type ClusterMember,
  type ClusterView,
  HttpApi,
  type HttpServerOptions,
  type MemberInfo,
  type NodeService,
  type OutcomeReply,
  type RunReply,
  type ServiceErrorCode,
} from "../../src/server/index.js";
import {
  type AsciiPushes,
  asciiPushCommand,
  type Command,
  encodeCommand,
  type Outcome,
  StackMachine,
} from "../../src/stack/index.js";

export const silent = pino({ level: "silent" });

const listening: HttpApi[] = [];

/**
 * An HttpApi for `service` on a free port of 127.0.0.1, requests timing out after 500 ms, no logs
 * (`options` on top); `closeApis` closes every one (the test file's `after`).
 */
export async function listenApi(service: NodeService, options: Partial<HttpServerOptions> = {}) {
  const api = new HttpApi(service, {
    host: "127.0.0.1",
    port: 0,
    requestTimeoutMs: 500,
    logger: silent,
    ...options,
  });
  listening.push(api);
  const port = await api.listen();
  return { api, port, url: `http://127.0.0.1:${port}` };
}

export async function closeApis(): Promise<void> {
  await Promise.all(listening.splice(0).map((api) => api.close()));
}

/**
 * A node stand-in: a real state machine, with leadership, commit and failures set by the test. Its
 * propose applies here whatever the role: forwarding to the leader is the real node's business.
 */
export class FakeService implements NodeService {
  readonly machine = new StackMachine();
  leaderId: number;
  roleName = "leader";
  /** The members as status() reports them (GET /v1/cluster, INFO replication). */
  clusterMembers: ClusterMember[] = [];
  commit = 0;
  /** Set: status() says this node was removed from the cluster, as the real node's does. */
  removed = false;
  /** Set: propose and read reject with this code. */
  failWith: ServiceErrorCode | undefined;
  /**
   * Set: submit answers before it returns, as the real node does when it refuses at once (removed,
   * busy, stopped) or when a batch refusal answers earlier commands inside a later submit.
   */
  submitAnswersAtOnce = false;
  /** Calls of submit: a request run twice shows here. */
  submits = 0;
  /** Set: submit waits here until the test runs the entry (the commit is held). */
  heldSubmits: (() => void)[] | undefined;
  readonly proposed: Command[] = [];
  /** The `stale` flag of every read, in order. */
  readonly reads: boolean[] = [];
  /** The member table; membership calls change it (or reject with failWith). */
  readonly memberList: MemberInfo[] = [];
  nextMemberId = 4;
  /** Client URLs of members by id, as the node would publish them. */
  readonly clientUrls = new Map<number, string>();
  private readonly listeners = new Set<(m: StackMachine) => void>();

  constructor(
    readonly id: number,
    leader = id,
  ) {
    this.leaderId = leader;
    if (leader !== id) this.roleName = "follower";
  }

  leader(): number {
    return this.leaderId;
  }

  role(): string {
    return this.roleName;
  }

  private check(): void {
    if (this.failWith !== undefined) {
      throw Object.assign(new Error(`fake ${this.failWith}`), { code: this.failWith });
    }
  }

  async propose(cmd: Command): Promise<Outcome> {
    return this.applyNow(cmd);
  }

  submit(cmd: Command, reply: OutcomeReply): void {
    this.submits++;
    // Called as methods, as the contract says (the RESP connection's replies are class instances).
    const answer = (o: Outcome) => reply.resolve(o);
    const fail = (err: Error) => reply.reject(err);
    if (this.heldSubmits !== undefined) {
      this.heldSubmits.push(() => this.propose(cmd).then(answer, fail));
      return;
    }
    if (!this.submitAnswersAtOnce) {
      this.propose(cmd).then(answer, fail);
      return;
    }
    let outcome: Outcome;
    try {
      outcome = this.applyNow(cmd);
    } catch (err) {
      reply.reject(err as Error);
      return;
    }
    reply.resolve(outcome);
  }

  /** Calls of submitRun, and the commands they carried (each also counts in `submits`). */
  runs = 0;
  runCommands = 0;

  /** Each command of the run as the Command it stands for, through `submit` (held and failed alike). */
  submitRun(run: AsciiPushes, reply: RunReply): void {
    this.runs++;
    this.runCommands += run.count;
    for (let i = 0; i < run.count; i++) {
      this.submit(asciiPushCommand(run, i, 0), {
        resolve: (o) => reply.resolveAt(i, o),
        reject: (err) => reply.rejectAt(i, err),
      });
    }
  }

  private applyNow(cmd: Command): Outcome {
    this.check();
    this.proposed.push(cmd);
    const index = this.machine.appliedIndex + 1;
    this.commit = Math.max(this.commit, index);
    const outcome = this.machine.apply(index, encodeCommand(cmd));
    for (const listener of this.listeners) listener(this.machine);
    return outcome;
  }

  clientUrl(id: number): string | undefined {
    return this.clientUrls.get(id);
  }

  onApplied(listener: (m: StackMachine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async read<T>(fn: (m: StackMachine) => T, stale = false): Promise<T> {
    this.reads.push(stale);
    if (!stale) this.check(); // a stale read is local: it needs no leader
    return fn(this.machine);
  }

  status(): ClusterView {
    return {
      id: this.id,
      role: this.roleName,
      leader: this.leaderId,
      term: 3,
      commit: this.commit,
      applied: this.machine.appliedIndex,
      lastIndex: this.commit,
      snapshotIndex: 0,
      viewFrom: this.id,
      members: this.clusterMembers,
      ...(this.removed ? { removed: true as const } : {}),
    };
  }

  async clusterView(_local: boolean): Promise<ClusterView> {
    return this.status();
  }

  async backup(): Promise<Snapshot> {
    this.check();
    if (this.roleName !== "leader") throw Object.assign(new Error("fake not_leader"), { code: "not_leader" });
    const meta = { index: this.machine.appliedIndex, term: 3, config: { voters: [this.id], learners: [] } };
    return { meta, data: this.machine.snapshot() };
  }

  async metricsText(): Promise<string> {
    return "# fake metrics\n";
  }

  readonly metricsContentType = "text/plain; version=0.0.4";

  members(): { leader: number; members: MemberInfo[] } {
    return { leader: this.leaderId, members: [...this.memberList] };
  }

  async addMember(req: { peerUrl: string; clientUrl?: string; id?: number }): Promise<MemberInfo> {
    this.check();
    const id = req.id ?? this.nextMemberId;
    if (this.memberList.some((m) => m.id === id)) {
      throw Object.assign(new Error(`node ${id} is already a member`), { code: "config_invalid" });
    }
    this.nextMemberId = Math.max(this.nextMemberId, id + 1);
    const member: MemberInfo = { id, peerUrl: req.peerUrl, clientUrl: req.clientUrl ?? "", role: "learner" };
    this.memberList.push(member);
    return member;
  }

  async removeMember(id: number): Promise<void> {
    this.check();
    const i = this.memberList.findIndex((m) => m.id === id);
    if (i < 0) throw Object.assign(new Error(`node ${id} is not a member`), { code: "config_invalid" });
    this.memberList.splice(i, 1);
  }

  async transferLeader(id?: number): Promise<number> {
    this.check();
    this.leaderId = id ?? this.memberList.find((m) => m.id !== this.leaderId)?.id ?? this.leaderId;
    return this.leaderId;
  }
}
