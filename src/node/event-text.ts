import type { NodeId, RaftEvent, TransferAbandonReason, VoteRefusal } from "../raft/index.js";
import type { LogLimiter } from "../transport/index.js";
import type { DriverHooks, DriverLogger } from "./ports.js";

/** Why a vote was refused, in words an operator reads in the log and on the dashboard's timeline. */
const refusalText: Readonly<Record<VoteRefusal, string>> = {
  votedForAnother: "already voted for another candidate in this term",
  leaderKnown: "a live leader is known",
  leaderLease: "heard from the leader within the election timeout (request ignored)",
  logBehind: "the candidate's log is behind ours",
  preVoteDeferral: "deferring to the higher id in the first pre-vote round",
  recovering: "this node is recovering a lost log",
  staleTerm: "the request carries a stale term",
  removed: "the candidate was removed from the cluster",
};

/** Why a leader gave its transfer up before TimeoutNow, for the timeline (after it, only `timedOut` can be). */
const abandonText: Readonly<Record<TransferAbandonReason, string>> = {
  targetSilent: "it was unreachable and silent for over three heartbeat intervals before it was caught up",
  timedOut: "it did not catch up within an election timeout",
  targetRemoved: "its removal was applied before it was caught up",
};

/**
 * How the dashboard groups and colours timeline events. A Record over every event type, so a new one
 * must be given its group here (it used to fall silently into "other" in the page's own switch).
 */
export type EventCategory =
  | "leader"
  | "election"
  | "vote"
  | "transfer"
  | "stepdown"
  | "loss"
  | "snapshot"
  | "other";

const categoryOf: Readonly<Record<TimelineEvent["type"], EventCategory>> = {
  leaderChanged: "leader",
  roleChanged: "election",
  termChanged: "election",
  campaignStarted: "election",
  voteRefused: "vote",
  transferRefused: "transfer",
  transferAbandoned: "transfer",
  checkQuorumStepDown: "stepdown",
  followerLostEntries: "loss",
  recoveryStarted: "loss",
  recoveryFinished: "loss",
  snapshotCreated: "snapshot",
  snapshotInstalled: "snapshot",
  configApplied: "other",
  removedLeaderStepsDown: "other",
};

/** The dashboard group of an event type; "other" for a type this build does not know (a newer peer's). */
export function eventCategory(type: string): EventCategory {
  return Object.hasOwn(categoryOf, type) ? categoryOf[type as TimelineEvent["type"]] : "other";
}

/** What the node itself adds to the core's events on its timeline. */
export type NodeEvent =
  | { readonly type: "snapshotCreated"; readonly index: number; readonly bytes: number }
  | { readonly type: "snapshotInstalled"; readonly index: number; readonly term: number };

/** Any timeline event: the core's, the node's, or one this build does not know yet (printed as is). */
export type TimelineEvent = RaftEvent | NodeEvent;

/**
 * One line for a core or node event, e.g. "became leader in term 5 (was candidate)" or "refused vote
 * to node 3 in term 5: the candidate's log is behind ours". `self` tells a campaign from a peer's term.
 */
export function describeEvent(event: TimelineEvent, self: NodeId): string {
  switch (event.type) {
    case "roleChanged":
      return `became ${event.to} in term ${event.term} (was ${event.from})`;
    case "termChanged":
      return `term ${event.from} → ${event.to} ${event.source === self ? "(campaigning)" : `(message from node ${event.source})`}`;
    case "leaderChanged":
      return event.to === 0
        ? `no leader in term ${event.term} (was node ${event.from})`
        : `node ${event.to} is leader in term ${event.term}${event.from === 0 ? "" : ` (was node ${event.from})`}`;
    case "campaignStarted":
      if (event.kind === "preVote") return `pre-vote for term ${event.term} (round ${event.preVoteRounds})`;
      return `election for term ${event.term}${event.kind === "transfer" ? " (leadership transfer)" : ""}`;
    case "voteRefused":
      return `refused ${event.preVote ? "pre-vote" : "vote"} to node ${event.candidate} in term ${event.term}: ${refusalText[event.reason]}`;
    case "checkQuorumStepDown":
      return `stepped down in term ${event.term}: heard from ${event.active} voters, ${event.quorum} needed, within an election timeout`;
    case "followerLostEntries":
      return `node ${event.follower} lost entries: its log ends at ${event.lastIndex}, below the ${event.match} it acknowledged; replicating again`;
    case "recoveryStarted":
      return `started with a lost log in term ${event.term}: grants no votes and never campaigns until a leader catches it up`;
    case "recoveryFinished":
      return `recovered: node ${event.leader} caught the log up to index ${event.index} in term ${event.term}`;
    case "transferRefused":
      return event.reason === "recovering"
        ? `refused a leadership transfer from node ${event.from}: this node is recovering a lost log`
        : `leadership transfer from node ${event.from} deferred: committed configuration changes are not applied yet`;
    case "transferAbandoned":
      return `gave up the leadership transfer to node ${event.to} in term ${event.term}: ${
        event.timeoutNowSent
          ? "TimeoutNow was sent but it did not lead within an election timeout (it may still win an election)"
          : `${abandonText[event.reason]} (no TimeoutNow sent)`
      }; leading on`;
    case "configApplied":
      return `membership: ${event.op} node ${event.id} applied at index ${event.index} (voters ${event.voters.join(",")}${event.learners.length > 0 ? `; learners ${event.learners.join(",")}` : ""})`;
    case "removedLeaderStepsDown":
      return event.to === 0
        ? `removed from the cluster in term ${event.term}: stepping down, no voter left to take over`
        : `removed from the cluster in term ${event.term}: handing leadership to node ${event.to} and stepping down`;
    case "snapshotCreated":
      return `created a snapshot at index ${event.index} (${event.bytes} bytes)`;
    case "snapshotInstalled":
      return `installed the leader's snapshot at index ${event.index} (term ${event.term})`;
    default:
      return describeUnknown(event);
  }
}

/** An event type added to the core after this text was written (e.g. membership changes): its fields. */
function describeUnknown(event: { readonly type: string }): string {
  const { type, ...fields } = event;
  const parts = Object.entries(fields).map(
    ([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`,
  );
  return parts.length === 0 ? type : `${type}: ${parts.join(", ")}`;
}

/** Pre-vote rounds logged one by one before only every `PRE_VOTE_ROUNDS_LOG_EVERY`th is. */
const PRE_VOTE_ROUNDS_LOGGED = 3;
/** At one round per election timeout (~0.2 s), a line every few seconds while a node is cut off. */
const PRE_VOTE_ROUNDS_LOG_EVERY = 20;
const preVoteRoundsSampled = `logging every ${PRE_VOTE_ROUNDS_LOG_EVERY}th pre-vote round`;

/**
 * A node cut off from its peers starts a pre-vote round every election timeout (82 lines at info in
 * 14 s in a trial): past the first few, only every Nth round is logged, its number giving the count.
 * The timeline (hooks) still gets every round.
 */
function preVoteLogging(event: RaftEvent): "log" | "sample" | "skip" {
  if (event.type !== "campaignStarted" || event.kind !== "preVote") return "log";
  if (event.preVoteRounds <= PRE_VOTE_ROUNDS_LOGGED) return "log";
  return event.preVoteRounds % PRE_VOTE_ROUNDS_LOG_EVERY === 0 ? "sample" : "skip";
}

/**
 * A refused pre-vote is logged through `refusals` (a LogLimiter, keyed by candidate and reason): a node
 * cut off from the leader campaigns every election timeout, and each member refused each round in a
 * line of its own. Returns the fields and text to log it with, or undefined to leave it out.
 */
function limitRefusal(
  event: RaftEvent,
  text: string,
  refusals: LogLimiter,
): { fields: object; text: string } | undefined {
  if (event.type !== "voteRefused" || !event.preVote) return { fields: event, text };
  const limited = refusals.admit(`${event.candidate} ${event.reason}`);
  if (limited === undefined) return undefined;
  const more =
    limited.suppressed === undefined
      ? ""
      : `; ${limited.suppressed} more like it in the last ${Math.round(limited.logEveryMs / 1000)} s`;
  return { fields: { ...event, ...limited }, text: `${text}${more}` };
}

/**
 * Hands what the core reports in `Ready.events` (role and leader changes, term bumps, refused votes
 * with their reason, check-quorum step-downs, lost or recovering logs, applied configuration
 * changes) to the hooks (the dashboard's timeline) and logs each as one readable line at info (pre-vote
 * rounds sampled, see preVoteLogging; refused pre-votes limited by `refusals`, see limitRefusal), so an
 * election storm or a membership change leaves a trace.
 */
export function reportEvents(
  events: readonly RaftEvent[],
  dropped: number,
  self: NodeId,
  hooks: DriverHooks,
  logger: DriverLogger | undefined,
  refusals: LogLimiter,
): void {
  if (events.length === 0 && dropped === 0) return;
  hooks.events?.(events, dropped);
  if (logger === undefined) return;
  for (const event of events) {
    const logging = preVoteLogging(event);
    if (logging === "skip") continue;
    const described = describeEvent(event, self);
    const line = limitRefusal(
      event,
      logging === "sample" ? `${described}; ${preVoteRoundsSampled}` : described,
      refusals,
    );
    if (line !== undefined) logger.info(line.fields, line.text);
  }
  if (dropped > 0) logger.info({ eventsDropped: dropped }, "raft: events left out (core's eventsMax)");
}
