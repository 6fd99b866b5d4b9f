import { type ClientOptions, RaftstackClient, RaftstackError } from "../client/index.js";
import { formatTable } from "./table.js";

export const STATUS_HEADER = ["endpoint", "id", "role", "term", "leader", "commit", "applied"] as const;

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
    return await Promise.all(
      endpoints.map(async (endpoint): Promise<NodeStatusRow> => {
        try {
          const [health, view] = await Promise.all([
            client.health({ endpoint }),
            client.cluster({ endpoint }).catch(() => undefined),
          ]);
          return {
            endpoint,
            up: true,
            id: view?.id,
            role: health.role,
            term: health.term,
            leader: health.leader,
            commit: view?.commit,
            applied: view?.applied,
          };
        } catch (err) {
          const error = err instanceof RaftstackError && err.status !== 0 ? err.code : DOWN;
          return { endpoint, up: false, error };
        }
      }),
    );
  } finally {
    await client.close();
  }
}

/** Table cells in STATUS_HEADER order: "?" for what only /v1/cluster knows, "-" for nothing. */
export function statusCells(row: NodeStatusRow): string[] {
  if (!row.up) return [row.endpoint, "-", row.error, "-", "-", "-", "-"];
  const known = (n: number | undefined) => (n === undefined ? "?" : String(n));
  return [
    row.endpoint,
    known(row.id),
    row.role,
    String(row.term),
    row.leader === 0 ? "-" : String(row.leader),
    known(row.commit),
    known(row.applied),
  ];
}

export function statusTable(rows: readonly NodeStatusRow[]): string {
  return formatTable(STATUS_HEADER, rows.map(statusCells));
}

/** `status --json`: one object per endpoint, null for what is unknown. */
export function statusJson(rows: readonly NodeStatusRow[]): string {
  return JSON.stringify(
    rows.map((r) =>
      r.up
        ? { ...r, id: r.id ?? null, commit: r.commit ?? null, applied: r.applied ?? null }
        : { endpoint: r.endpoint, up: false, error: r.error },
    ),
    null,
    2,
  );
}
