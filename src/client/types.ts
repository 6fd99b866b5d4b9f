export interface StackInfo {
  readonly id: number;
  readonly label: string;
  readonly size: number;
}

export interface MemberInfo {
  readonly id: number;
  readonly peerUrl: string;
  readonly clientUrl: string;
  /** The leader's acknowledged index of the member; null where the view does not know it (see `progress`). */
  readonly match?: number | null;
  readonly state?: string | null;
  /** Why `match` is null (e.g. "known only on the leader"). */
  readonly progress?: string;
  /**
   * The leader's: ms since it last heard from the member (0 for itself); null if not since it took over,
   * and with `match`. Absent from older servers.
   */
  readonly lastHeardMs?: number | null;
  /** The leader's: not heard for more than 2 election timeouts (up, but cut off); null with `match`. */
  readonly cutOff?: boolean | null;
  /** On the entry of the node whose view it is (`viewFrom`): its own last index. */
  readonly lastIndex?: number;
}

/** A member in the replicated table (GET /v1/members); clientUrl is "" until it published one. */
export interface Member {
  readonly id: number;
  readonly peerUrl: string;
  readonly clientUrl: string;
  readonly role: "voter" | "learner";
}

export interface MemberList {
  /** 0 when the node asked knows no leader. */
  readonly leader: number;
  readonly members: readonly Member[];
  /** True only from a node removed from the cluster (its list then lacks itself). */
  readonly removed?: boolean;
}

/** One node's view of the cluster (GET /v1/cluster). */
export interface ClusterInfo {
  readonly id: number;
  /** 0 when the node knows no leader. */
  readonly leader: number;
  readonly term: number;
  readonly members: readonly MemberInfo[];
  readonly commit: number;
  readonly applied: number;
  /**
   * The node whose view `members` is: the leader's (a follower asks it), or the answering node's own
   * when it leads or cannot get the leader's (then `viewReason` says why). Absent from older servers.
   */
  readonly viewFrom?: number;
  readonly viewReason?: string;
  /** True only from a node removed from the cluster (`members` then lacks it). */
  readonly removed?: boolean;
}

/** GET /health; a node without a known leader answers 503 with the same body shape. */
export interface HealthInfo {
  readonly ok: boolean;
  readonly leader: number;
  readonly role: string;
  readonly term: number;
  /** True only from a node removed from the cluster (it answers 503 for good). */
  readonly removed?: boolean;
}
