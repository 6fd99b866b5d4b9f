// The console's readable log lines: role changes, term bumps, refused votes and step-downs carry their reason.
import assert from "node:assert/strict";
import { test } from "node:test";
import { reportEvents } from "../../src/node/event-text.js";
import { describeEvent, eventCategory, RecentEvents } from "../../src/node/index.js";
import type { RaftEvent } from "../../src/raft/index.js";
import { LogLimiter, REPEAT_LOG_EVERY_MS } from "../../src/transport/index.js";

/** A limiter on a clock the test moves. */
function limiterAt(clock: { ms: number }): LogLimiter {
  return new LogLimiter(REPEAT_LOG_EVERY_MS, () => clock.ms);
}

test("events read as sentences with their reasons", () => {
  assert.equal(
    describeEvent({ type: "roleChanged", term: 5, from: "candidate", to: "leader" }, 1),
    "became leader in term 5 (was candidate)",
  );
  assert.equal(
    describeEvent({ type: "termChanged", from: 4, to: 5, source: 1 }, 1),
    "term 4 → 5 (campaigning)",
  );
  assert.equal(
    describeEvent({ type: "termChanged", from: 4, to: 5, source: 3 }, 1),
    "term 4 → 5 (message from node 3)",
  );
  assert.equal(
    describeEvent({ type: "voteRefused", term: 5, candidate: 3, preVote: false, reason: "logBehind" }, 1),
    "refused vote to node 3 in term 5: the candidate's log is behind ours",
  );
  assert.equal(
    describeEvent({ type: "checkQuorumStepDown", term: 5, active: 1, quorum: 2 }, 1),
    "stepped down in term 5: heard from 1 voters, 2 needed, within an election timeout",
  );
  assert.equal(
    describeEvent({ type: "leaderChanged", term: 6, from: 1, to: 0 }, 2),
    "no leader in term 6 (was node 1)",
  );
});

test("a cut-off node's pre-vote rounds are logged one by one at first, then every Nth with its number", () => {
  const preVote = (round: number): RaftEvent => ({
    type: "campaignStarted",
    term: 3,
    kind: "preVote",
    preVoteRounds: round,
  });
  const lines: string[] = [];
  let timeline = 0;
  const logger = { info: (_f: object, msg: string) => lines.push(msg), fatal: () => {} };
  const hooks = { events: (events: readonly RaftEvent[]) => (timeline += events.length) };
  // 82 rounds in 14 s in the trial, one Ready each; then the node hears a leader and votes in term 4.
  const limiter = limiterAt({ ms: 0 });
  for (let round = 1; round <= 82; round++) reportEvents([preVote(round)], 0, 3, hooks, logger, limiter);
  const election: RaftEvent = { type: "campaignStarted", term: 4, kind: "election", preVoteRounds: 82 };
  reportEvents([election], 0, 3, hooks, logger, limiter);

  assert.equal(timeline, 83, "the timeline still gets every round");
  const sampled = "; logging every 20th pre-vote round";
  assert.deepStrictEqual(lines, [
    "pre-vote for term 3 (round 1)",
    "pre-vote for term 3 (round 2)",
    "pre-vote for term 3 (round 3)",
    ...[20, 40, 60, 80].map((round) => `pre-vote for term 3 (round ${round})${sampled}`),
    "election for term 4",
  ]);
});

test("a given-up transfer reads with its reason, and the dashboard files it with the transfers", () => {
  const abandoned = (reason: "targetSilent" | "timedOut" | "targetRemoved", timeoutNowSent = false) =>
    describeEvent({ type: "transferAbandoned", term: 5, to: 3, reason, timeoutNowSent }, 1);
  assert.equal(
    abandoned("targetSilent"),
    "gave up the leadership transfer to node 3 in term 5: it was unreachable and silent for over three heartbeat intervals before it was caught up (no TimeoutNow sent); leading on",
  );
  assert.equal(
    abandoned("timedOut"),
    "gave up the leadership transfer to node 3 in term 5: it did not catch up within an election timeout (no TimeoutNow sent); leading on",
  );
  assert.equal(
    abandoned("targetRemoved"),
    "gave up the leadership transfer to node 3 in term 5: its removal was applied before it was caught up (no TimeoutNow sent); leading on",
  );
  assert.equal(
    abandoned("timedOut", true),
    "gave up the leadership transfer to node 3 in term 5: TimeoutNow was sent but it did not lead within an election timeout (it may still win an election); leading on",
  );
  assert.equal(eventCategory("transferAbandoned"), "transfer");
  assert.equal(eventCategory("transferRefused"), "transfer");
  assert.equal(eventCategory("leaderChanged"), "leader");
  assert.equal(eventCategory("fromANewerBuild"), "other", "a type this build does not know");
  assert.equal(eventCategory("toString"), "other", "not an inherited property");
  const recent = new RecentEvents(1, () => 0);
  recent.add({ type: "transferAbandoned", term: 5, to: 3, reason: "targetSilent", timeoutNowSent: false });
  assert.equal(recent.since(0)[0]?.category, "transfer", "the timeline entry carries it to the page");
});

test("refused pre-votes of a campaigning node are logged at most once per 10 s per candidate and reason", () => {
  // A partitioned node campaigns every election timeout (~0.2 s): each member logged every refusal.
  const refused = (candidate: number, reason: "leaderLease" | "logBehind", preVote = true): RaftEvent => ({
    type: "voteRefused",
    term: 7,
    candidate,
    preVote,
    reason,
  });
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const logger = {
    info: (fields: object, msg: string) => lines.push({ msg, fields: fields as Record<string, unknown> }),
    fatal: () => {},
  };
  let timeline = 0;
  const hooks = { events: (events: readonly RaftEvent[]) => (timeline += events.length) };
  const clock = { ms: 0 };
  const limiter = limiterAt(clock);
  const report = (e: RaftEvent) => reportEvents([e], 0, 1, hooks, logger, limiter);
  // 10 s of refusals of node 3, one per 200 ms; node 4's and another reason are told apart.
  for (; clock.ms < REPEAT_LOG_EVERY_MS; clock.ms += 200) report(refused(3, "leaderLease"));
  report(refused(4, "leaderLease"));
  report(refused(3, "logBehind"));
  report(refused(3, "leaderLease")); // 10 s after the first: logged, with the count left out
  // A real vote's refusal is no campaign of a cut-off node: each is logged.
  report(refused(3, "leaderLease", false));

  assert.equal(timeline, 54, "the timeline still gets every refusal");
  const text =
    "refused pre-vote to node 3 in term 7: heard from the leader within the election timeout (request ignored)";
  assert.deepEqual(
    lines.map((l) => l.msg),
    [
      text,
      "refused pre-vote to node 4 in term 7: heard from the leader within the election timeout (request ignored)",
      "refused pre-vote to node 3 in term 7: the candidate's log is behind ours",
      `${text}; 49 more like it in the last 10 s`,
      "refused vote to node 3 in term 7: heard from the leader within the election timeout (request ignored)",
    ],
  );
  assert.equal(lines[3]?.fields["suppressed"], 49);
});
