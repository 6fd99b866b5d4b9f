// Three real drivers with their LeaderRequests on one manual clock (forwarding and transfer tests).
import assert from "node:assert/strict";
import { encodeLeaderView, memberStatuses } from "../../src/node/cluster-view.js";
import { Driver } from "../../src/node/index.js";
import { LeaderRequests, REQUEST_RUN, REQUEST_RUN_VERSION } from "../../src/node/leader-requests.js";
import { MemberTable } from "../../src/node/members.js";
import type { Message } from "../../src/raft/index.js";
import type { AsciiPushes, Outcome, StackLimits, StackMachineOptions } from "../../src/stack/index.js";
import { DiskStorage, MemDisk } from "../../src/storage/index.js";
import { PROTOCOL_VERSION } from "../../src/transport/index.js";
import { ManualClock } from "./helpers.js";
import { runAnswers } from "./runs.js";

/** The driver that leads now (the tests call this once an election had time to finish). */
export function leaderOf(drivers: ReadonlyMap<number, Driver>): Driver {
  const leader = [...drivers.values()].find((d) => d.raft.role === "leader");
  assert.ok(leader !== undefined, "a leader was elected");
  return leader;
}

/** The code a write is answered with ("ok" for success, a NodeError's code if refused); undefined until then. */
export function answerCode(answer: Promise<Outcome>): () => string | undefined {
  let code: string | undefined;
  answer.then(
    (o) => {
      code = o.ok ? "ok" : o.code;
    },
    (e: { readonly code: string }) => {
      code = e.code;
    },
  );
  return () => code;
}

/** The leader elected after `old` stopped or was cut off. */
export function nextLeader(drivers: ReadonlyMap<number, Driver>, old: Driver): Driver {
  const next = [...drivers.values()].find((d) => d.id !== old.id && d.raft.role === "leader");
  assert.ok(next !== undefined, "a new leader");
  return next;
}

/**
 * Three drivers on one manual clock; raft messages and forward frames are delivered by `flush`.
 * `machine`: the state machine's options on every node (its limits).
 */
export async function threeNodes(machine?: StackMachineOptions) {
  const clock = new ManualClock();
  const voters = [1, 2, 3];
  const drivers = new Map<number, Driver>();
  const requests = new Map<number, LeaderRequests>();
  /**
   * `deaf`: a node no Raft message reaches; `isolated`: nor leaves (0: none). `versions`: the protocol
   * version a node's HELLO says (PROTOCOL_VERSION unless set); `forwards`: the forward requests sent.
   */
  const net = {
    dropResultsFrom: 0,
    deaf: 0,
    isolated: 0,
    versions: new Map<number, number>(),
    forwards: [] as { from: number; to: number; kind: number }[],
  };
  for (const id of voters) {
    const storage = await DiskStorage.open(new MemDisk(), `/n${id}`, {
      bootstrapConfig: { voters, learners: [] },
    });
    // As node.ts keeps it: the applied changes update the table (new ids, peer URLs taken).
    const members = MemberTable.initial(
      voters.map((v) => ({ id: v, peerUrl: `http://127.0.0.1:${7000 + v}` })),
    );
    const driver = new Driver(
      {
        raft: { id, electionTicks: 10, heartbeatTicks: 3, seed: id },
        voters,
        tickMs: 10,
        snapshotEntries: 10_000,
        requestTimeoutMs: 2000,
        ...(machine === undefined ? {} : { machine }),
      },
      {
        clock,
        storage,
        network: {
          send: (msgs: readonly Message[]) => {
            for (const m of msgs) {
              if (m.to === net.deaf || m.to === net.isolated || id === net.isolated) continue;
              clock.defer(() => drivers.get(m.to)?.receive(m));
            }
          },
        },
        hooks: {
          leaderChanged: (leader) => clock.defer(() => requests.get(id)?.leaderChanged(leader)),
          configApplied: (cc) => members.apply(cc.op, cc.id, cc.context),
        },
        // The driver turns a core failure into a stopped node; here it must fail the test, as it did
        // when receive/tick let it escape.
        onFatal: (err) => {
          throw err;
        },
      },
    );
    drivers.set(id, driver);
    requests.set(
      id,
      new LeaderRequests({
        driver,
        clock,
        requestTimeoutMs: 2000,
        members,
        tickMs: 10,
        limits: { forwardsPendingMax: 100, forwardedMax: 100 },
        leaderView: () =>
          encodeLeaderView({
            viewFrom: id,
            members: memberStatuses(
              driver.raft.status(),
              voters.map((v) => ({ id: v, peerUrl: "", clientUrl: "" })),
              driver.peerSilence(),
            ),
          }),
        network: {
          peerVersion: (to) => net.versions.get(to) ?? PROTOCOL_VERSION,
          forward: (to, request) => {
            net.forwards.push({ from: id, to, kind: request.kind });
            if (
              request.kind === REQUEST_RUN &&
              (net.versions.get(to) ?? PROTOCOL_VERSION) < REQUEST_RUN_VERSION
            ) {
              // What a build of protocol 4 answers a kind it does not know.
              const { requestId } = request;
              const message = `unknown request kind ${request.kind}`;
              const refused = { requestId, ok: false, code: "bad_request", leader: to, message } as const;
              clock.defer(() => requests.get(id)?.result(to, refused));
              return true;
            }
            clock.defer(() =>
              requests.get(to)?.receive(id, request, (result) => {
                if (net.dropResultsFrom !== to) clock.defer(() => requests.get(id)?.result(to, result));
              }),
            );
            return true;
          },
        },
      }),
    );
    driver.start();
    clock.every(10, () => requests.get(id)?.tick());
  }
  return { clock, drivers, requests, net };
}

/** `threeNodes` once their first leader is elected: that `leader`, and the ids of its two `followers`. */
export async function electedThree(machine?: StackMachineOptions) {
  const nodes = await threeNodes(machine);
  await nodes.clock.advance(1000);
  const leader = leaderOf(nodes.drivers);
  const followers = [1, 2, 3].filter((id) => id !== leader.id) as [number, number];
  return { ...nodes, leader, followers };
}

export type ElectedThree = Awaited<ReturnType<typeof electedThree>>;

/**
 * Forwards `run` from the follower `from` while the leader's answers to forwards are dropped, and gives
 * the leader 50 ms to apply it; returns the run's answers. The leader's answers stay dropped until the
 * test sets `net.dropResultsFrom` back to 0 (the tests move leadership first).
 */
export async function runAnswerLost(
  { clock, requests, net, leader }: ElectedThree,
  from: number,
  run: AsciiPushes,
) {
  const follower = requests.get(from);
  assert.ok(follower !== undefined);
  net.dropResultsFrom = leader.id;
  const answers = runAnswers();
  follower.submitRun(run, answers.reply);
  await clock.advance(50);
  return answers;
}

/**
 * Three nodes of the machine `limits` whose follower `from` (the other: `other`) wrote x onto stack s
 * under a key of its own, taking one of the table's `sessionsMax` slots (the keys-full and keyless
 * forwarding tests); `follower` and `leaderRequests`: the LeaderRequests of `from` and of the leader.
 */
export async function followerKeyTaken(limits: Partial<StackLimits>) {
  const nodes = await electedThree({ limits });
  const [from, other] = nodes.followers;
  const follower = nodes.requests.get(from);
  const leaderRequests = nodes.requests.get(nodes.leader.id);
  assert.ok(follower !== undefined && leaderRequests !== undefined);
  const x = follower.propose({ type: "lpush", label: "s", items: ["x"], atMs: 0 });
  await nodes.clock.advance(50);
  assert.ok((await x).ok, "x took a slot with the follower's key");
  return { ...nodes, from, other, follower, leaderRequests };
}
