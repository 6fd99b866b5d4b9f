import { RaftstackClient, RaftstackError } from "../client/index.js";
import { formatTable } from "./table.js";

export const STATUS_HEADER = ["endpoint", "id", "role", "term", "leader", "commit", "applied"] as const;

/** Per-attempt timeout of a status probe: a down or paused node must not stall the table. */
const PROBE_TIMEOUT_MS = 500;

/** One row per endpoint, each node asked for its own view; a node that does not answer shows "down". */
export async function statusRows(endpoints: readonly string[]): Promise<string[][]> {
  const client = new RaftstackClient({
    endpoints,
    timeoutMs: PROBE_TIMEOUT_MS,
    deadlineMs: PROBE_TIMEOUT_MS * 2,
    retries: 0,
  });
  try {
    return await Promise.all(
      endpoints.map(async (endpoint) => {
        try {
          const [health, view] = await Promise.all([
            client.health({ endpoint }),
            client.cluster({ endpoint }).catch(() => undefined),
          ]);
          return [
            endpoint,
            view === undefined ? "?" : String(view.id),
            health.role,
            String(health.term),
            health.leader === 0 ? "-" : String(health.leader),
            view === undefined ? "?" : String(view.commit),
            view === undefined ? "?" : String(view.applied),
          ];
        } catch (err) {
          const why = err instanceof RaftstackError && err.status !== 0 ? err.code : "down";
          return [endpoint, "-", why, "-", "-", "-", "-"];
        }
      }),
    );
  } finally {
    await client.close();
  }
}

export async function statusTable(endpoints: readonly string[]): Promise<string> {
  return formatTable(STATUS_HEADER, await statusRows(endpoints));
}
