import { pino } from "pino";
import type { Snapshot } from "../../src/raft/index.js";
import type { ClusterView, ServiceErrorCode, StackService } from "../../src/server/index.js";
import { type Command, encodeCommand, type Outcome, StackMachine } from "../../src/stack/index.js";

export const silent = pino({ level: "silent" });

/** A node stand-in: a real state machine, with leadership, commit and failures set by the test. */
export class FakeService implements StackService {
  readonly machine = new StackMachine();
  leaderId: number;
  roleName = "leader";
  commit = 0;
  /** Set: propose and read reject with this code. */
  failWith: ServiceErrorCode | undefined;
  readonly proposed: Command[] = [];
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
    this.check();
    this.proposed.push(cmd);
    const index = this.machine.appliedIndex + 1;
    this.commit = Math.max(this.commit, index);
    const outcome = this.machine.apply(index, encodeCommand(cmd));
    for (const listener of this.listeners) listener(this.machine);
    return outcome;
  }

  onApplied(listener: (m: StackMachine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async read<T>(fn: (m: StackMachine) => T, _stale?: boolean): Promise<T> {
    this.check();
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
      members: [],
    };
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
}
