// A follower's RESP run forwarded to the leader as one request (node/run-forward.ts): one peer message
// per run, one entry on the leader, the outcomes back in one answer; applied once when its answer is
// lost and it is sent again, to a leader of this build or of protocol 4 (which gets it command by command).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Forwarder } from "../../src/node/forwarding.js";
import type { Driver, NodeError } from "../../src/node/index.js";
import { REQUEST_COMMAND, REQUEST_RUN } from "../../src/node/leader-requests.js";
import {
  decodeRunOutcomes,
  decodeRunRequest,
  encodeRunOutcomes,
  encodeRunRequest,
} from "../../src/node/run-forward.js";
import {
  type AsciiPushes,
  decodeBatch,
  decodeCommand,
  isBatch,
  type Outcome,
} from "../../src/stack/index.js";
import { type ForwardRequest, PROTOCOL_VERSION } from "../../src/transport/index.js";
import { asciiRun, runAnswers } from "./runs.js";
import { type ElectedThree, electedThree, leaderOf, runAnswerLost } from "./three-drivers.js";

/** The keys of the commands in `driver`'s log that start with `prefix`, in log order. */
function loggedKeys(driver: Driver | undefined, prefix: string): string[] {
  const log = driver?.raft.log;
  const entries = log?.slice(log.firstIndex(), log.lastIndex() + 1, 1e9) ?? [];
  return entries
    .filter((e) => e.kind === "normal")
    .flatMap((e) => (isBatch(e.data) ? (decodeBatch(e.data) ?? []) : [e.data]))
    .map((data) => decodeCommand(data)?.key ?? "")
    .filter((k) => k.startsWith(prefix));
}

const run3 = () =>
  asciiRun(
    [
      ["s", "a", "b"],
      ["t", "c"],
      ["s", "d"],
    ],
    "junk",
  );

/** Sends run3 from `follower`, answered in order (sizes 2, 1, 3); the kinds of the requests it forwarded. */
async function forwardRun3({ clock, requests, net }: ElectedThree, follower: number): Promise<number[]> {
  const answers = runAnswers();
  requests.get(follower)?.submitRun(run3(), answers.reply);
  await clock.advance(200);
  assert.deepEqual(answers.sizes(3), [2, 1, 3]);
  return net.forwards.filter((f) => f.from === follower).map((f) => f.kind);
}

describe("a forwarded run's request and answer", () => {
  test("read back as written, keys included; anything malformed is refused, never thrown", () => {
    const run = run3();
    const payload = encodeRunRequest(run, { prefix: "~2.abc.", first: 40 });
    const back = decodeRunRequest(payload);
    assert.ok(back !== undefined);
    assert.deepEqual(back.keys, { prefix: "~2.abc.", first: 40 });
    assert.equal(back.count, 3);
    const text = (r: AsciiPushes) => {
      const out: string[] = [];
      for (let i = 0; i < r.spans.length; ) {
        const items = r.spans[i + 2] as number;
        const strings = [[r.spans[i], r.spans[i + 1]]];
        for (let k = 0; k < items; k++) strings.push([r.spans[i + 3 + 2 * k], r.spans[i + 4 + 2 * k]]);
        out.push(strings.map(([a, b]) => Buffer.from(r.src.subarray(a, b)).toString("latin1")).join(","));
        i += 3 + 2 * items;
      }
      return out;
    };
    assert.deepEqual(text(back), ["s,a,b", "t,c", "s,d"]);
    for (let cut = 0; cut < payload.length; cut++)
      assert.equal(decodeRunRequest(payload.subarray(0, cut)), undefined, `cut at ${cut}`);
    assert.equal(decodeRunRequest(Uint8Array.from([...payload, 0])), undefined, "a trailing byte");
    const nonAscii = Uint8Array.from(payload);
    nonAscii[nonAscii.length - 1] = 0xc3;
    assert.equal(decodeRunRequest(nonAscii), undefined, "a byte that is not ASCII");
    const none = encodeRunRequest({ src: new Uint8Array(0), count: 0, spans: new Uint32Array(0) }, back.keys);
    assert.equal(decodeRunRequest(none), undefined, "no command");

    const outcomes: Outcome[] = [
      { ok: true, kind: "pushed", size: 7 },
      { ok: false, code: "capacity_exceeded" },
    ];
    assert.deepEqual(decodeRunOutcomes(encodeRunOutcomes(outcomes), 2), outcomes);
    assert.equal(decodeRunOutcomes(encodeRunOutcomes(outcomes), 3), undefined, "not the run's count");
  });

  test("the follower's queue counts a run as its commands, and hands it back for a leader of protocol 4", () => {
    const sent: ForwardRequest[] = [];
    const state = { version: PROTOCOL_VERSION };
    const f = new Forwarder({
      self: 1,
      leader: () => 2,
      network: {
        forward: (_to, request) => sent.push(request) > 0,
        peerVersion: () => state.version,
      },
      local: () => assert.fail("not the leader"),
      firstRequestId: 1,
      requestsPendingMax: 10,
    });
    const instead: boolean[] = [];
    const errors: string[] = [];
    const reply = { resolve: () => {}, reject: (err: NodeError) => errors.push(err.code) };
    const bundle = (commands: number) => ({
      commands,
      version: 5,
      instead: (tried: boolean) => instead.push(tried),
    });
    f.submit(REQUEST_RUN, new Uint8Array(1), 1000, reply, true, bundle(8));
    f.submit(REQUEST_COMMAND, new Uint8Array(1), 1000, reply);
    f.submit(REQUEST_COMMAND, new Uint8Array(1), 1000, reply);
    assert.deepEqual(errors, []);
    f.submit(REQUEST_COMMAND, new Uint8Array(1), 1000, reply);
    assert.deepEqual(errors, ["busy"], "8 + 1 + 1 requests pending: the 11th is refused");
    assert.equal(sent.length, 3);
    // The run's leader goes; the next one (same id here) said 4: the run leaves the queue, tried.
    state.version = 4;
    f.peerLost(2);
    f.tick(0);
    assert.deepEqual(instead, [true]);
    assert.equal(f.size, 2);
    // Its 8 are free again; a new run goes straight back, never tried.
    f.submit(REQUEST_RUN, new Uint8Array(1), 1000, reply, true, bundle(8));
    assert.deepEqual(instead, [true, false]);
    assert.deepEqual(errors, ["busy"]);
  });
});

describe("runs forwarded between real drivers", () => {
  test("a follower's run is one request, one entry of keyed commands on the leader, answered in order", async () => {
    const nodes = await electedThree();
    const { drivers, leader } = nodes;
    const [follower] = nodes.followers;
    const sessions = leader.machine.sessionCount;
    const entries = leader.raft.log.lastIndex();
    assert.deepEqual(await forwardRun3(nodes, follower), [REQUEST_RUN]);
    const log = leader.raft.log;
    const added = (log.slice(entries + 1, log.lastIndex() + 1, 1e9) ?? []).filter((e) => e.kind === "normal");
    assert.equal(added.length, 1, "one entry");
    const keys = (decodeBatch(added[0]?.data ?? new Uint8Array(0)) ?? []).map((c) => decodeCommand(c)?.key);
    assert.equal(keys.length, 3);
    // Numbered one after another, as the per-command path would number them.
    const numbers = keys.map((k) => Number.parseInt(k?.slice(k.lastIndexOf(".") + 1) ?? "", 36));
    assert.ok(
      keys.every((k) => k?.startsWith(`~${follower}.`)) && numbers[2] === (numbers[0] ?? 0) + 2,
      String(keys),
    );
    assert.equal(leader.machine.sessionCount, sessions + 3);
    for (const d of drivers.values()) assert.deepEqual(d.machine.range("s", 0, -1), ["d", "b", "a"]);
  });

  for (const nextVersion of [PROTOCOL_VERSION, 4]) {
    test(`a run whose answer is lost is sent again to the next leader (protocol ${nextVersion}) and applied once`, async () => {
      const nodes = await electedThree();
      const { clock, drivers, net, leader } = nodes;
      const [follower, next] = nodes.followers;
      // The leader applies the run, but its answer never reaches the follower...
      const answers = await runAnswerLost(nodes, follower, run3());
      assert.deepEqual(leader.machine.range("s", 0, -1), ["d", "b", "a"]);
      assert.deepEqual(answers.sizes(3), [undefined, undefined, undefined]);
      // ...and leadership moves to a node of `nextVersion`: the follower sends the run again there, whole
      // or (protocol 4) command by command, under the keys it gave it.
      net.versions.set(next, nextVersion);
      assert.ok(leader.transferLeadership(next));
      net.dropResultsFrom = 0;
      await clock.advance(500);
      assert.equal(leaderOf(drivers).id, next);
      assert.deepEqual(answers.sizes(3), [2, 1, 3], "the first outcomes");
      for (const d of drivers.values()) {
        assert.deepEqual(d.machine.range("s", 0, -1), ["d", "b", "a"], `node ${d.id}: once each`);
        assert.deepEqual(d.machine.range("t", 0, -1), ["c"]);
      }
      const sent = net.forwards.filter((f) => f.from === follower);
      const expected =
        nextVersion === PROTOCOL_VERSION
          ? [REQUEST_RUN]
          : [REQUEST_COMMAND, REQUEST_COMMAND, REQUEST_COMMAND];
      assert.deepEqual(
        sent.filter((f) => f.to === next).map((f) => f.kind),
        expected,
      );
      // The retry's commands were logged (again) under the first attempt's keys: three keys, each twice.
      const keys = loggedKeys(drivers.get(next), `~${follower}.`);
      assert.equal(new Set(keys).size, 3, String(keys));
    });
  }

  test("a leader of protocol 4 gets a follower's run command by command, under keys numbered alike", async () => {
    const nodes = await electedThree();
    const { leader } = nodes;
    const [follower] = nodes.followers;
    nodes.net.versions.set(leader.id, 4);
    assert.deepEqual(await forwardRun3(nodes, follower), [REQUEST_COMMAND, REQUEST_COMMAND, REQUEST_COMMAND]);
    assert.equal(loggedKeys(leader, `~${follower}.`).length, 3);
  });
});
