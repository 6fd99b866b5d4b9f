import type { ConfigState, Entry, NodeId, Raft } from "../raft/index.js";
import { Violation } from "./protocol.js";

/** The entry first committed at an index and the outcome of its first apply; every replica must agree. */
interface CommittedRecord {
  readonly entry: Entry;
  outcome: string | undefined;
  /** Lowest term in which a node reported it committed: an upper bound on the term that committed it. */
  seenInTerm: number;
}

/**
 * Safety properties checked while the run goes: election safety, log matching, durable commits, identical
 * apply sequences and exactly-once effects. Each failure throws a Violation naming the property.
 */
export class Invariants {
  private readonly leaders = new Map<number, NodeId>();
  /** Index → the entry committed there (and its outcome once applied): the max committed prefix seen. */
  private readonly committed = new Map<number, CommittedRecord>();
  private readonly executedKeys = new Set<string>();
  private readonly pushedValues = new Set<string>();
  private readonly snapshots = new Map<number, number>();
  /** Nodes that applied a configuration removing themselves (ids are never reused). */
  private readonly leftCluster = new Set<NodeId>();
  maxCommitted = 0;
  /** Committed entries that carried more than one command (a batch), counted once per index. */
  batchEntries = 0;

  /** A node applied a configuration change; one that removes the node itself is recorded. */
  configApplied(node: NodeId, config: ConfigState): void {
    if (config.removed?.includes(node) === true) this.leftCluster.add(node);
  }

  hasLeftCluster(node: NodeId): boolean {
    return this.leftCluster.has(node);
  }

  /** `node` was elected leader of `term`. */
  led(node: NodeId, term: number): boolean {
    return this.leaders.get(term) === node;
  }

  /**
   * Election safety (§5.2): at most one leader per term, across configuration changes. A node that
   * applied its own removal never leads again.
   */
  leader(term: number, id: NodeId): void {
    if (this.leftCluster.has(id))
      throw new Violation("removed node leads", `node ${id} applied its removal, then led term ${term}`);
    const known = this.leaders.get(term);
    if (known === undefined) this.leaders.set(term, id);
    else if (known !== id)
      throw new Violation("election safety", `nodes ${known} and ${id} both led term ${term}`);
  }

  /** A node committed `entry` (a Ready's committed list): it fixes what every replica holds at that index. */
  committedEntry(node: NodeId, entry: Entry, term: number): void {
    const known = this.committed.get(entry.index);
    if (known === undefined) {
      this.committed.set(entry.index, { entry, outcome: undefined, seenInTerm: term });
      if (entry.index > this.maxCommitted) this.maxCommitted = entry.index;
    } else if (!sameEntry(known.entry, entry)) {
      throw new Violation(
        "committed entry changed",
        `node ${node} committed term ${entry.term} at index ${entry.index}, where term ${known.entry.term} was committed`,
      );
    } else if (term < known.seenInTerm) {
      known.seenInTerm = term;
    }
  }

  /**
   * A replica applied committed `entry` with `outcomes` (one per command, in order: a batch entry
   * carries several). The first replica to apply an index fixes the outcome every other must get;
   * `executedKeys` are the idempotency keys of its commands that changed the stacks (not a remembered
   * retry), and `pushed` lists the values they pushed.
   */
  applied(
    node: NodeId,
    term: number,
    entry: Entry,
    outcomes: readonly string[],
    executedKeys: readonly string[],
    pushed: readonly string[],
  ): void {
    this.committedEntry(node, entry, term);
    const known = this.committed.get(entry.index) as CommittedRecord;
    const outcome = outcomes.join(";");
    if (known.outcome !== undefined) {
      if (known.outcome !== outcome) {
        throw new Violation(
          "deterministic apply",
          `node ${node} got ${outcome} at index ${entry.index}, another replica got ${known.outcome}`,
        );
      }
      return;
    }
    known.outcome = outcome;
    if (outcomes.length > 1) this.batchEntries++;
    for (const key of executedKeys) {
      if (this.executedKeys.has(key))
        throw new Violation("exactly once", `key ${key} executed twice (again at index ${entry.index})`);
      this.executedKeys.add(key);
    }
    for (const value of pushed) {
      if (this.pushedValues.has(value))
        throw new Violation("exactly once", `value ${value} pushed twice (again at index ${entry.index})`);
      this.pushedValues.add(value);
    }
  }

  /** Snapshots of the same index must hold the same state on every replica. */
  snapshot(node: NodeId, index: number, hash: number): void {
    const known = this.snapshots.get(index);
    if (known === undefined) this.snapshots.set(index, hash);
    else if (known !== hash)
      throw new Violation("snapshot divergence", `node ${node} snapshot at ${index} differs`);
  }

  /**
   * Log matching (§5.3) over every pair of live logs, and every node's committed prefix against the
   * committed entries seen so far (a committed entry never changes or disappears).
   */
  checkLogs(rafts: readonly Raft[]): void {
    for (const r of rafts) this.checkCommittedPrefix(r);
    for (let a = 0; a < rafts.length; a++) {
      for (let b = a + 1; b < rafts.length; b++) checkPair(rafts[a] as Raft, rafts[b] as Raft);
    }
  }

  private checkCommittedPrefix(r: Raft): void {
    const lo = r.log.firstIndex();
    const hi = r.log.committed;
    if (hi < lo) return;
    const entries = r.log.slice(lo, hi + 1, Number.POSITIVE_INFINITY) ?? [];
    for (const e of entries) this.committedEntry(r.id, e, r.term);
  }

  /**
   * Leader completeness (§5.4): a leader holds every entry committed in an earlier term (above its
   * snapshot). With `all`, every entry committed so far: right for the leader of the highest term.
   */
  checkLeaderHoldsCommitted(leader: Raft, all: boolean): void {
    const lo = leader.log.firstIndex();
    for (let i = lo; i <= this.maxCommitted; i++) {
      const known = this.committed.get(i);
      if (known === undefined || (!all && known.seenInTerm >= leader.term)) continue;
      if (leader.log.term(i) !== known.entry.term) {
        throw new Violation(
          "leader completeness",
          `leader ${leader.id} of term ${leader.term} has term ${leader.log.term(i)} at index ${i}, where term ${known.entry.term} was committed by term ${known.seenInTerm}`,
        );
      }
    }
  }
}

function sameEntry(a: Entry, b: Entry): boolean {
  if (a === b) return true;
  if (a.term !== b.term || a.index !== b.index || a.kind !== b.kind || a.data.length !== b.data.length)
    return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** If two logs agree on the term at some index, they must agree on every entry up to it. */
function checkPair(a: Raft, b: Raft): void {
  const lo = Math.max(a.log.firstIndex(), b.log.firstIndex());
  let hi = Math.min(a.log.lastIndex(), b.log.lastIndex());
  while (hi >= lo && a.log.term(hi) !== b.log.term(hi)) hi--;
  if (hi < lo) return;
  const ea = a.log.slice(lo, hi + 1, Number.POSITIVE_INFINITY) ?? [];
  const eb = b.log.slice(lo, hi + 1, Number.POSITIVE_INFINITY) ?? [];
  for (let i = 0; i < ea.length && i < eb.length; i++) {
    const x = ea[i] as Entry;
    const y = eb[i] as Entry;
    if (!sameEntry(x, y)) {
      throw new Violation(
        "log matching",
        `nodes ${a.id} and ${b.id} agree on term ${a.log.term(hi)} at index ${hi} but differ at index ${x.index} (terms ${x.term}, ${y.term})`,
      );
    }
  }
}
