// The schedule is a function of the seed; a 60 s run fits every kind; partition shapes cut what they say.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FAULTS, selectFaults } from "./faults.js";
import { commandOf, parseNemesisArgs } from "./options.js";
import { makeSchedule } from "./schedule.js";
import { bridge, isolate, oneWay, quorumSize, reaches, split, star } from "./topology.js";

const kinds = FAULTS.map((f) => f.kind);

describe("nemesis schedule", () => {
  test("same seed, same schedule; another seed, another one", () => {
    const a = makeSchedule({ seed: 7, kinds, durationMs: 600_000 });
    assert.deepEqual(makeSchedule({ seed: 7, kinds, durationMs: 600_000 }), a);
    assert.notDeepEqual(makeSchedule({ seed: 8, kinds, durationMs: 600_000 }), a);
  });

  test("60 s holds every kind once, in order, without overlap, inside the duration", () => {
    for (const seed of [1, 2, 3, 99]) {
      const s = makeSchedule({ seed, kinds, durationMs: 60_000 });
      assert.deepEqual(new Set(s.map((f) => f.kind)), new Set(kinds));
      for (let i = 0; i < s.length; i++) {
        const f = s[i]!;
        assert.ok(f.activeMs >= 800, `fault ${i} lasts ${f.activeMs} ms`);
        assert.ok(f.at + f.activeMs <= 60_000);
        const next = s[i + 1];
        if (next !== undefined) assert.ok(f.at + f.activeMs < next.at, `faults ${i} and ${i + 1} overlap`);
      }
    }
  });

  test("a long run repeats kinds with normal lengths", () => {
    const s = makeSchedule({ seed: 5, kinds: ["kill-one", "pause-one"], durationMs: 600_000 });
    assert.ok(s.length > 60, `${s.length} faults in 10 minutes`);
    assert.ok(s.every((f) => f.activeMs >= 800 && f.activeMs <= 5000));
  });

  test("--faults takes kinds, groups and all; rejects unknown names", () => {
    assert.deepEqual(
      selectFaults(["kill"]).map((f) => f.kind),
      ["kill-one", "kill-leader", "kill-minority"],
    );
    assert.equal(selectFaults(["all"]).length, FAULTS.length);
    assert.deepEqual(
      selectFaults(["repair", "pause-leader"]).map((f) => f.kind),
      ["pause-leader", "repair"],
    );
    assert.deepEqual(
      selectFaults(["disk", "clock"]).map((f) => f.kind),
      ["disk-slow", "disk-stall", "stall-crash", "clock-skew", "disk-full"],
    );
    assert.deepEqual(
      selectFaults(["membership"]).map((f) => f.kind),
      ["member-add", "member-remove", "member-replace"],
    );
    assert.deepEqual(
      selectFaults(["election"]).map((f) => f.kind),
      ["election-slow-disks", "figure8", "election-split-vote"],
    );
    assert.throws(() => selectFaults(["churn"]), /unknown fault "churn"/);
    assert.throws(() => parseNemesisArgs(["--mutation", "nope"]), /--mutation: one of/);
    assert.throws(() => parseNemesisArgs(["--faults", "kill,nope"]), /unknown "nope"/);
    assert.throws(() => parseNemesisArgs(["--nodes", "4"]), /3 or 5/);
  });

  test("the printed command reproduces the options that shape a run", () => {
    const run = (argv: string[]) => {
      const c = parseNemesisArgs(argv);
      assert.ok(c.kind === "run");
      return c.options;
    };
    const o = run([
      ...["--seed", "12", "--nodes", "5", "--duration", "30", "--faults", "kill,partition"],
      ...["--resp-share", "0.5", "--mutation", "ackBeforeFsync", "--joins-max", "4"],
    ]);
    assert.equal(o.command, commandOf(o));
    const again = run(o.command.replace("npm run nemesis -- ", "").split(" "));
    for (const key of [
      "seed",
      "nodes",
      "durationMs",
      "faults",
      "clients",
      "rate",
      "stacks",
      "respShare",
      "mutation",
      "joinsMax",
    ] as const)
      assert.deepEqual(again[key], o[key]);
    assert.deepEqual(parseNemesisArgs(["--recheck", "/tmp/x", "--check-seconds", "5"]), {
      kind: "recheck",
      dir: "/tmp/x",
      checkMs: 5000,
    });
  });
});

describe("partition shapes", () => {
  const five = [1, 2, 3, 4, 5];

  test("isolating a node cuts it both ways from everyone, and keeps a majority", () => {
    const cuts = isolate(five, 3);
    assert.equal(cuts.length, 8);
    assert.ok(!reaches(cuts, 3, 1) && !reaches(cuts, 1, 3) && reaches(cuts, 1, 2));
    assert.equal(quorumSize(five, cuts), 4);
  });

  test("a 2/3 split leaves a quorum of 3; one-way cuts are one way", () => {
    assert.equal(quorumSize(five, split([1, 2], [3, 4, 5])), 3);
    const mute = oneWay([1], [2, 3]);
    assert.ok(!reaches(mute, 1, 2) && reaches(mute, 2, 1));
    assert.equal(quorumSize([1, 2, 3], mute), 2);
  });

  test("star: only the center links to all; bridge: halves meet only at the bridge", () => {
    const s = star(five, 2);
    assert.ok(reaches(s, 2, 5) && reaches(s, 5, 2) && !reaches(s, 1, 5));
    assert.equal(quorumSize(five, s), 5, "the center can lead everyone");
    const b = bridge([4, 1, 3, 5, 2]);
    assert.equal(b.bridge, 3);
    assert.ok(
      !reaches(b.cuts, 4, 5) && !reaches(b.cuts, 2, 1) && reaches(b.cuts, 4, 1) && reaches(b.cuts, 3, 2),
    );
    assert.equal(quorumSize(five, b.cuts), 5);
  });
});
