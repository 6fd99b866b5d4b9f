// How long a leader has not heard from each member: the cluster view's `lastHeardMs` and `cutOff`.

/**
 * Election timeouts (--election-ticks) the leader has not heard from a member after which the member is
 * `cutOff`: past one, a follower cut off would campaign; two leave room for a slow round trip.
 */
export const CUT_OFF_ELECTION_TIMEOUTS = 2;

/** How long the leader has not heard from a member (a message of this term, its vote included). */
export interface MemberSilence {
  /** Ms since (ticks × --tick-ms); null if not heard since this node took over as leader. */
  readonly lastHeardMs: number | null;
  /** Not heard for more than CUT_OFF_ELECTION_TIMEOUTS election timeouts (never heard: led that long). */
  readonly cutOff: boolean;
}

/** The leader's timing a member's silence is measured with. */
export interface SilenceTiming {
  readonly tickMs: number;
  readonly electionTicks: number;
  /** Ticks since this node became leader: the least silence of a member not heard since. */
  readonly ticksLed: number;
}

/** A member's silence from the core's `heardTicksAgo` (Infinity: not heard this term). */
export function memberSilence(heardTicksAgo: number, timing: SilenceTiming): MemberSilence {
  const heard = Number.isFinite(heardTicksAgo);
  const silentTicks = heard ? heardTicksAgo : timing.ticksLed;
  return {
    lastHeardMs: heard ? heardTicksAgo * timing.tickMs : null,
    cutOff: silentTicks > CUT_OFF_ELECTION_TIMEOUTS * timing.electionTicks,
  };
}
