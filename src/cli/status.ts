import {
  type ClientOptions,
  type ClusterInfo,
  type HealthInfo,
  type MemberInfo,
  RaftstackClient,
  RaftstackError,
  type RaftstackErrorCode,
} from "../client/index.js";
import { connectionHint } from "./connection-hint.js";
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

/** The role cell of a node that answers but that the leader has not heard for over 2 election timeouts. */
export const CUT_OFF = "cut off";

/** `error` of a node that gave no answer at all (refused, timed out), as opposed to an error answer. */
export const DOWN = "down";

/** The leader's view of a node that did not answer: how far it got, and how many committed entries it lacks. */
export interface LeaderSeen {
  /** The node whose view it is. */
  readonly from: number;
  readonly match: number | null;
  readonly state: string | null;
  /**
   * The commit index minus `match`, at least 0: entries of the leader's log that are not committed yet are
   * not behind (a node that has every committed entry is 0 behind). Undefined when `match` is unknown.
   */
  readonly behind: number | undefined;
  /** Ms since the leader last heard from it; null if not since it took over, or its view does not say. */
  readonly lastHeardMs: number | null;
  /** The leader has not heard from it for over 2 election timeouts; null where its view does not say. */
  readonly cutOff: boolean | null;
}

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
      /** The leader's view of it, when some answer carried that view: `cutOff` if it no longer hears it. */
      readonly seen?: LeaderSeen;
      /** The code of /v1/cluster's error answer, when it gave one (e.g. `unauthorized`). */
      readonly viewError?: string;
    }
  | {
      readonly endpoint: string;
      readonly up: false;
      readonly error: string;
      /** From a member list that names this endpoint as a member's client URL. */
      readonly id: number | undefined;
      /** The leader's view of it, when some answer carried that view. */
      readonly seen: LeaderSeen | undefined;
      /** What to do about it, when the connection failed for want of TLS settings. */
      readonly hint?: string;
    };

/** Endpoint of a member that never published its client URL: it cannot be asked. */
export const NO_CLIENT_URL = "(no client URL)";

type Answer =
  | {
      readonly endpoint: string;
      readonly health: HealthInfo;
      readonly view: ClusterInfo | undefined;
      /** Why the view is missing, and the code of its error answer if it gave one. */
      readonly viewError: string | undefined;
      readonly viewCode: string | undefined;
    }
  | {
      readonly endpoint: string;
      readonly health: undefined;
      readonly error: string;
      /** What to do about it, when the connection failed for want of TLS settings. */
      readonly hint: string | undefined;
    };

/** Asks every endpoint for its health and its view at once; one answer per endpoint, in order. */
async function ask(
  endpoints: readonly string[],
  credentials: Pick<ClientOptions, "token" | "tls">,
): Promise<Answer[]> {
  if (endpoints.length === 0) return [];
  const client = new RaftstackClient({
    ...credentials,
    endpoints,
    timeoutMs: PROBE_TIMEOUT_MS,
    deadlineMs: PROBE_TIMEOUT_MS * 2,
    retries: 0,
  });
  try {
    return await Promise.all(
      endpoints.map(async (endpoint): Promise<Answer> => {
        try {
          const [health, asked] = await Promise.all([
            client.health({ endpoint }),
            client.cluster({ endpoint }).then(
              (view) => ({ view, failed: undefined }),
              (failed: unknown) => ({ view: undefined, failed }),
            ),
          ]);
          const { view, failed } = asked;
          if (view !== undefined)
            return { endpoint, health, view, viewError: undefined, viewCode: undefined };
          const viewCode = failed instanceof RaftstackError && failed.status !== 0 ? failed.code : undefined;
          return { endpoint, health, view, viewError: viewFailed(failed), viewCode };
        } catch (err) {
          const error = err instanceof RaftstackError && err.status !== 0 ? err.code : DOWN;
          return { endpoint, health: undefined, error, hint: connectionHint(err) };
        }
      }),
    );
  } finally {
    await client.close();
  }
}

const viewsOf = (answers: readonly Answer[]): ClusterInfo[] =>
  answers.flatMap((a) => (a.health === undefined || a.view === undefined ? [] : [a.view]));

const originOf = (url: string): string => (url === "" ? "" : new URL(url).origin);

/** The rows of `answers`, each with the leader's view among them; `idOf`: member ids by client URL origin. */
function rowsOf(answers: readonly Answer[], idOf: ReadonlyMap<string, number>): NodeStatusRow[] {
  const views = viewsOf(answers);
  const progress = leaderProgress(views);
  return answers.map((a): NodeStatusRow => {
    if (a.health === undefined) {
      const id = idOf.get(originOf(a.endpoint));
      const hint = a.hint === undefined ? {} : { hint: a.hint };
      return { endpoint: a.endpoint, up: false, error: a.error, id, seen: seenBy(progress, id), ...hint };
    }
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
      ...seenOf(progress, view?.id),
      ...(a.viewCode === undefined ? {} : { viewError: a.viewCode }),
    };
  });
}

const seenOf = (progress: ReturnType<typeof leaderProgress>, id: number | undefined) => {
  const seen = seenBy(progress, id);
  return seen === undefined ? {} : { seen };
};

function seenBy(progress: ReturnType<typeof leaderProgress>, id: number | undefined): LeaderSeen | undefined {
  const view = progress.view;
  const member = id === undefined ? undefined : view?.members.find((m) => m.id === id);
  if (view === undefined || member === undefined) return undefined;
  const from = view.viewFrom ?? view.id;
  const match = member.match ?? null;
  const behind = match === null ? undefined : Math.max(0, progress.commit - match);
  const heard = { lastHeardMs: member.lastHeardMs ?? null, cutOff: member.cutOff ?? null };
  return { from, match, state: member.state ?? null, behind, ...heard };
}

/** Asks every endpoint for its own view; a node that does not answer is a row with up: false. */
export async function probeStatus(
  endpoints: readonly string[],
  credentials: Pick<ClientOptions, "token" | "tls"> = {},
): Promise<NodeStatusRow[]> {
  const answers = await ask(endpoints, credentials);
  return rowsOf(answers, memberIds(answers));
}

/** Member ids by client URL origin, from every view among the answers (the leader's, else any). */
function memberIds(answers: readonly Answer[]): Map<string, number> {
  return new Map(
    membersOf(answers).flatMap((m) => (m.clientUrl === "" ? [] : [[originOf(m.clientUrl), m.id]])),
  );
}

/** The members as the leader's view lists them, else as the first view that lists any. */
function membersOf(answers: readonly Answer[]): readonly MemberInfo[] {
  const views = viewsOf(answers);
  return leaderProgress(views).view?.members ?? views.find((v) => v.members.length > 0)?.members ?? [];
}

/**
 * `raftstack status`: asks the endpoints, learns the member list from any view that answered, then asks
 * the members not asked yet, so a member that is down still gets a row (with the leader's view of it).
 * Rows are in member id order.
 */
export async function probeMembers(
  endpoints: readonly string[],
  credentials: Pick<ClientOptions, "token" | "tls"> = {},
): Promise<NodeStatusRow[]> {
  const first = await ask(endpoints, credentials);
  const members = membersOf(first);
  const answered = new Set(viewsOf(first).map((v) => v.id));
  const asked = new Set(endpoints.map(originOf));
  const more = members.filter(
    (m) => !answered.has(m.id) && m.clientUrl !== "" && !asked.has(originOf(m.clientUrl)),
  );
  const answers = [
    ...first,
    ...(await ask(
      more.map((m) => originOf(m.clientUrl)),
      credentials,
    )),
  ];
  const rows = rowsOf(answers, memberIds(answers));
  const listed = new Set(rows.map((r) => r.id));
  const unlisted = members.filter((m) => m.clientUrl === "" && !listed.has(m.id));
  const progress = leaderProgress(viewsOf(answers));
  return byMemberId([
    ...rows,
    ...unlisted.map((m): NodeStatusRow => {
      const seen = seenBy(progress, m.id);
      return { endpoint: NO_CLIENT_URL, up: false, error: "unreachable", id: m.id, seen };
    }),
  ]);
}

/** In member id order, whatever order the endpoints came in; rows of unknown id last, in theirs. */
function byMemberId(rows: NodeStatusRow[]): NodeStatusRow[] {
  const rank = (r: NodeStatusRow) => r.id ?? Number.MAX_SAFE_INTEGER;
  return rows.sort((a, b) => rank(a) - rank(b));
}

/** `raftstack status` found the cluster not whole; the table is printed, the exit code says so. */
export class ClusterDegradedError extends Error {
  override readonly name = "ClusterDegradedError";
  readonly code = "degraded";
}

/**
 * Why the cluster is not whole, or undefined when it is: every row answered and one of them knows a
 * leader. `raftstack status` exits EXIT_DEGRADED then (README "Exit codes").
 */
export function degradedReason(rows: readonly NodeStatusRow[]): string | undefined {
  const reasons: string[] = [];
  if (!rows.some((r) => r.up && r.leader !== 0)) reasons.push("no leader known");
  for (const r of rows) {
    if (r.up && r.seen?.cutOff !== true) continue;
    const why = r.up ? CUT_OFF : r.error;
    reasons.push(`${r.id === undefined ? "" : `node ${r.id} `}${why} (${r.endpoint})`);
  }
  return reasons.length === 0 ? undefined : reasons.join("; ");
}

/** The HTTP status of a code that means "no token, or one with too low a role": 401, 403, else undefined. */
function tokenRefusalStatus(code: string | undefined): 401 | 403 | undefined {
  if (code === "unauthorized" || code === "http_401") return 401;
  if (code === "forbidden" || code === "http_403") return 403;
  return undefined;
}

/**
 * The first answer that refused for want of a token or of its role (/health or /v1/cluster), as the
 * error `raftstack status` exits 1 with after its table (README "Exit codes"); undefined if none did.
 */
export function tokenRefusal(rows: readonly NodeStatusRow[]): RaftstackError | undefined {
  for (const r of rows) {
    const code = r.up ? r.viewError : r.error;
    const status = tokenRefusalStatus(code);
    if (code === undefined || status === undefined) continue;
    const what = r.up ? `${r.endpoint}'s /v1/cluster` : r.endpoint;
    return new RaftstackError(code as RaftstackErrorCode, status, `${what} answered ${status} ${code}`);
  }
  return undefined;
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
  /** The leader's view itself. */
  view: ClusterInfo | undefined;
  /**
   * The highest commit index among the views: the leader's when it answered (status asks every member),
   * else the most any follower knows committed. 0 without views.
   */
  commit: number;
} {
  let best: ClusterInfo | undefined;
  const commit = Math.max(0, ...views.map((v) => v.commit));
  for (const v of views) {
    const leaderView = v.viewFrom === undefined ? v.id === v.leader : v.viewReason === undefined;
    if (leaderView && (best === undefined || v.term > best.term)) best = v;
  }
  if (best === undefined) {
    const reason = views.find((v) => v.viewReason !== undefined)?.viewReason ?? "no node answered its view";
    return { match: new Map(), found: false, reason, view: undefined, commit };
  }
  const from = best.viewFrom ?? best.id;
  return {
    match: new Map(best.members.map((m) => [m.id, m.match ?? null])),
    found: true,
    reason: `not tracked by the leader (node ${from})`,
    view: best,
    commit,
  };
}

/** Table cells in STATUS_HEADER order: "?" for what only /v1/cluster knows, "-" for nothing. */
export function statusCells(row: NodeStatusRow): string[] {
  if (!row.up) {
    const match = row.seen?.match ?? undefined;
    const id = row.id === undefined ? "-" : String(row.id);
    return [row.endpoint, id, row.error, "-", "-", "-", "-", match === undefined ? "-" : String(match)];
  }
  const known = (n: number | undefined) => (n === undefined ? "?" : String(n));
  return [
    row.endpoint,
    known(row.id),
    row.seen?.cutOff === true ? CUT_OFF : row.role,
    String(row.term),
    row.leader === 0 ? "-" : String(row.leader),
    known(row.commit),
    known(row.applied),
    known(row.match),
  ];
}

/**
 * The table; why `match` shows "?" where it does (one line, or one per endpoint if the reasons differ);
 * and for each node that did not answer, how the leader sees it.
 */
export function statusTable(rows: readonly NodeStatusRow[]): string {
  const table = formatTable(STATUS_HEADER, rows.map(statusCells));
  const unknown = rows.flatMap((r) => (r.up && r.progress !== undefined ? [r] : []));
  const reasons = new Set(unknown.map((r) => r.progress));
  const why =
    reasons.size <= 1
      ? unknown.slice(0, 1).map((r) => `match ?: ${r.progress}`)
      : unknown.map((r) => `match ? at ${r.endpoint}: ${r.progress}`);
  const seen = rows.flatMap((r) => (!r.up && r.seen !== undefined ? [seenLine(r.id, r.error, r.seen)] : []));
  const cutOff = rows.flatMap((r) =>
    r.up && r.seen?.cutOff === true ? [cutOffLine(r.id, r.role, r.seen)] : [],
  );
  return [table, ...why, ...seen, ...cutOff].join("\n");
}

function seenLine(id: number | undefined, error: string, seen: LeaderSeen): string {
  const at = seen.match === null ? "has no match for it" : `has it at match ${seen.match}`;
  const state = seen.state === null ? "" : ` (${seen.state})`;
  const behind = seen.behind === undefined ? "" : `, ${seen.behind} committed entries behind`;
  return `node ${id} ${error}: the leader (node ${seen.from}) ${at}${state}${behind}${heardText(seen, ", ")}`;
}

/** When the leader last heard from a node, after `sep`; "" when its view does not say. */
function heardText(seen: LeaderSeen, sep: string): string {
  if (seen.lastHeardMs !== null) return `${sep}last heard from it ${seen.lastHeardMs} ms ago`;
  return seen.cutOff === true ? `${sep}has not heard from it since it took over` : "";
}

function cutOffLine(id: number | undefined, role: string, seen: LeaderSeen): string {
  return `node ${id} ${CUT_OFF}: the leader (node ${seen.from})${heardText(seen, " ")} (${role} here)`;
}

/** `status --json`: one object per row, null for what is unknown (a down row: the leader's view of it). */
export function statusJson(rows: readonly NodeStatusRow[]): string {
  return JSON.stringify(
    rows.map((r) =>
      r.up
        ? {
            ...withoutSeen(r),
            id: r.id ?? null,
            commit: r.commit ?? null,
            applied: r.applied ?? null,
            match: r.match ?? null,
            lastHeardMs: r.seen?.lastHeardMs ?? null,
            cutOff: r.seen?.cutOff ?? null,
          }
        : {
            endpoint: r.endpoint,
            up: false,
            error: r.error,
            id: r.id ?? null,
            match: r.seen?.match ?? null,
            state: r.seen?.state ?? null,
            behind: r.seen?.behind ?? null,
            lastHeardMs: r.seen?.lastHeardMs ?? null,
            cutOff: r.seen?.cutOff ?? null,
          },
    ),
    null,
    2,
  );
}

function withoutSeen<T extends { readonly seen?: LeaderSeen }>(row: T): Omit<T, "seen"> {
  const { seen: _, ...rest } = row;
  return rest;
}
