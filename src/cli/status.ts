import { type ClientOptions, type ClusterInfo, RaftstackClient, RaftstackError } from "../client/index.js";
import { formatTable } from "./table.js";

/** `match`: the leader's acknowledged index of the node, from the leader's view any node answered. */
export const STATUS_HEADER = [
  "endpoint",
  "id",
  "role",
  "term",
  "leader",
  "commit",
  "applied",
  "match",
] as const;

/**
 * Why `match` is "?" for a node that answered /health but not /v1/cluster (its id is unknown too): no
 * answer, or an error answer. /health stays open with tokens on while /v1/cluster needs `read`, so a
 * status without a token against such a cluster lands here: say so rather than "did not answer".
 */
function viewFailed(err: unknown): string {
  if (!(err instanceof RaftstackError) || err.status === 0)
    return "its /v1/cluster did not answer (id unknown)";
  const hint =
    err.code === "unauthorized" || err.code === "forbidden"
      ? "; give a read token with --token or RAFTSTACK_TOKEN"
      : "";
  return `its /v1/cluster answered ${err.status} ${err.code} (id unknown)${hint}`;
}

/** Per-attempt timeout of a status probe: a down or paused node must not stall the table. */
const PROBE_TIMEOUT_MS = 500;

/** `error` of a node that gave no answer at all (refused, timed out), as opposed to an error answer. */
export const DOWN = "down";

/** One node's own view; `up` false when it did not answer with its health (`error`: DOWN or a code). */
export type NodeStatusRow =
  | {
      readonly endpoint: string;
      readonly up: true;
      /** From /v1/cluster; undefined when only /health answered. */
      readonly id: number | undefined;
      readonly role: string;
      readonly term: number;
      /** 0 = no leader known. */
      readonly leader: number;
      readonly commit: number | undefined;
      readonly applied: number | undefined;
      /** As the leader tracks it; undefined when no answer carried the leader's view (see `progress`). */
      readonly match: number | undefined;
      /** Why `match` is unknown. */
      readonly progress?: string;
    }
  | { readonly endpoint: string; readonly up: false; readonly error: string };

/** Asks every endpoint for its own view; a node that does not answer is a row with up: false. */
export async function probeStatus(
  endpoints: readonly string[],
  credentials: Pick<ClientOptions, "token" | "tls"> = {},
): Promise<NodeStatusRow[]> {
  const client = new RaftstackClient({
    ...credentials,
    endpoints,
    timeoutMs: PROBE_TIMEOUT_MS,
    deadlineMs: PROBE_TIMEOUT_MS * 2,
    retries: 0,
  });
  try {
    const answers = await Promise.all(
      endpoints.map(async (endpoint) => {
        try {
          const [health, view] = await Promise.all([
            client.health({ endpoint }),
            client.cluster({ endpoint }).catch((err: unknown) => viewFailed(err)),
          ]);
          return typeof view === "string"
            ? { endpoint, health, view: undefined, viewError: view }
            : { endpoint, health, view, viewError: undefined };
        } catch (err) {
          const error = err instanceof RaftstackError && err.status !== 0 ? err.code : DOWN;
          return { endpoint, error };
        }
      }),
    );
    const views = answers.flatMap((a) => (a.view === undefined ? [] : [a.view]));
    const progress = leaderProgress(views);
    return answers.map((a): NodeStatusRow => {
      if (a.health === undefined) return { endpoint: a.endpoint, up: false, error: a.error };
      const { health, view } = a;
      const known = view === undefined ? undefined : progress.match.get(view.id);
      // Each row's own reason: its view failed, the leader does not track it, or why its view is local.
      const reason =
        view === undefined
          ? (a.viewError ?? viewFailed(undefined))
          : progress.found
            ? progress.reason
            : (view.viewReason ?? progress.reason);
      return {
        endpoint: a.endpoint,
        up: true,
        id: view?.id,
        // A removed node's role (a follower, or a leader handing off) would hide that it is out.
        role: health.removed === true ? "removed" : health.role,
        term: health.term,
        leader: health.leader,
        commit: view?.commit,
        applied: view?.applied,
        match: known ?? undefined,
        ...(known == null ? { progress: reason } : {}),
      };
    });
  } finally {
    await client.close();
  }
}

/**
 * The members' match indexes from the leader's view among `views` (a follower forwards it; the newest
 * term's wins), or the reason none carried it. A server without `viewFrom` (older) counts only as its
 * own view, which is the leader's when it leads.
 */
export function leaderProgress(views: readonly ClusterInfo[]): {
  match: ReadonlyMap<number, number | null>;
  /** Whether a leader's view was among them (else `reason` is the first node's reason). */
  found: boolean;
  reason: string;
} {
  let best: ClusterInfo | undefined;
  for (const v of views) {
    const leaderView = v.viewFrom === undefined ? v.id === v.leader : v.viewReason === undefined;
    if (leaderView && (best === undefined || v.term > best.term)) best = v;
  }
  if (best === undefined) {
    const reason = views.find((v) => v.viewReason !== undefined)?.viewReason ?? "no node answered its view";
    return { match: new Map(), found: false, reason };
  }
  const from = best.viewFrom ?? best.id;
  return {
    match: new Map(best.members.map((m) => [m.id, m.match ?? null])),
    found: true,
    reason: `not tracked by the leader (node ${from})`,
  };
}

/** Table cells in STATUS_HEADER order: "?" for what only /v1/cluster knows, "-" for nothing. */
export function statusCells(row: NodeStatusRow): string[] {
  if (!row.up) return [row.endpoint, "-", row.error, "-", "-", "-", "-", "-"];
  const known = (n: number | undefined) => (n === undefined ? "?" : String(n));
  return [
    row.endpoint,
    known(row.id),
    row.role,
    String(row.term),
    row.leader === 0 ? "-" : String(row.leader),
    known(row.commit),
    known(row.applied),
    known(row.match),
  ];
}

/** The table, and why `match` shows "?" where it does: one line, or one per endpoint if the reasons differ. */
export function statusTable(rows: readonly NodeStatusRow[]): string {
  const table = formatTable(STATUS_HEADER, rows.map(statusCells));
  const unknown = rows.flatMap((r) => (r.up && r.progress !== undefined ? [r] : []));
  const reasons = new Set(unknown.map((r) => r.progress));
  if (reasons.size <= 1)
    return unknown[0] === undefined ? table : `${table}\nmatch ?: ${unknown[0].progress}`;
  return [table, ...unknown.map((r) => `match ? at ${r.endpoint}: ${r.progress}`)].join("\n");
}

/** `status --json`: one object per endpoint, null for what is unknown. */
export function statusJson(rows: readonly NodeStatusRow[]): string {
  return JSON.stringify(
    rows.map((r) =>
      r.up
        ? {
            ...r,
            id: r.id ?? null,
            commit: r.commit ?? null,
            applied: r.applied ?? null,
            match: r.match ?? null,
          }
        : { endpoint: r.endpoint, up: false, error: r.error },
    ),
    null,
    2,
  );
}
