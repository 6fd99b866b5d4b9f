import type { RecentEvent } from "../node/index.js";
import type { ClusterView } from "../server/index.js";
import type { RatePoint } from "./samples.js";

/** What a member answers at /v1/dashboard/summary: its own view, its new events and its latest rates. */
export interface PeerSummary {
  readonly cluster: ClusterView;
  readonly events: readonly RecentEvent[];
  /** The member's newest event sequence number (lower than asked for: it restarted). */
  readonly lastSeq: number;
  readonly rate: RatePoint | null;
}

export interface PeerAnswer {
  readonly id: number;
  readonly clientUrl: string;
  readonly summary: PeerSummary | undefined;
  /** Why there is no summary: timeout, refused, an error status. */
  readonly error: string | undefined;
  readonly ms: number;
}

/** A member slower than this counts as unreachable for this refresh (the page refreshes every second). */
export const PEER_TIMEOUT_MS_DEFAULT = 400;

/** Events one summary carries at most; the rest come with the next refresh. */
export const SUMMARY_EVENTS_MAX = 200;

/**
 * Asks one member for its summary since event `since`, within `timeoutMs`, with the viewer's
 * `authorization` header if any. Never rejects.
 */
export async function fetchSummary(
  id: number,
  clientUrl: string,
  since: number,
  timeoutMs: number,
  authorization?: string,
): Promise<PeerAnswer> {
  const started = performance.now();
  const answer = (summary: PeerSummary | undefined, error: string | undefined): PeerAnswer => ({
    id,
    clientUrl,
    summary,
    error,
    ms: Math.round(performance.now() - started),
  });
  try {
    const res = await fetch(`${clientUrl}/v1/dashboard/summary?since=${since}`, {
      signal: AbortSignal.timeout(timeoutMs),
      ...(authorization === undefined ? {} : { headers: { Authorization: authorization } }),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return answer(undefined, `HTTP ${res.status}`);
    }
    const body = (await res.json()) as PeerSummary;
    if (typeof body?.cluster?.term !== "number" || !Array.isArray(body.events)) {
      return answer(undefined, "malformed summary");
    }
    return answer(body, undefined);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message);
    return answer(undefined, why);
  }
}
