// Membership with real processes (issue 11, item 5): grow 3 → 5 while a client writes, replace a
// killed node with a fresh one, transfer and remove the leader, shrink back to 3; every acknowledged
// write is in the stack afterwards, exactly once. Changes go through the `raftstack` CLI and
// raftexample's `POST /{id}`. Ports 29400-29499 (this file's range): node i peer 29400 + 10i, client +1.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { after, describe, test } from "node:test";
import { Cluster, curl, sleep, track } from "./harness.js";

const CLI = resolve("bin/raftstack.js");

/** A cluster whose membership changes: nodes started later join with --join. */
class ChangingCluster extends Cluster {
  /** Every node ever started (for stop/destroy), in order. */
  private readonly started: number[] = [1, 2, 3];
  private readonly joining = new Set<number>();
  /** The members as the test believes them (what a joining node is told with --cluster). */
  members = [1, 2, 3];

  override ids(): number[] {
    return [...this.started];
  }

  override args(i: number): string[] {
    if (!this.joining.has(i))
      return super.args(i).map((a, k, all) => (all[k - 1] === "--cluster" ? this.list([1, 2, 3]) : a));
    return [
      "--id",
      String(i),
      "--cluster",
      this.list([...this.members, i]),
      "--join",
      "--port",
      String(this.port(i)),
      "--data-dir",
      this.dataDir(i),
      "--log-level",
      "info",
    ];
  }

  private list(ids: readonly number[]): string {
    return [...new Set(ids)].map((k) => `${k}=${this.peerUrl(k)}`).join(",");
  }

  startJoining(i: number): void {
    this.joining.add(i);
    this.started.push(i);
    this.start(i);
  }
}

function raftstack(args: readonly string[]): Promise<string> {
  return new Promise((res, rej) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`raftstack ${args.join(" ")}: ${err.message} ${stderr}`));
      else res(stdout.trim());
    });
  });
}

interface Listed {
  leader: number;
  members: { id: number; role: string; peerUrl: string; clientUrl: string }[];
}

// A hang guard: 91 s under one CPU hog, 144-178 s under two (most of it the writer's pushes and the
// final pops, each a committed write); 240 s was too close.
describe("e2e: membership changes under load", { timeout: 420_000 }, () => {
  const c = track(new ChangingCluster(3, 29400)) as ChangingCluster;
  after(() => c.destroy());

  const endpoints = () => c.members.map((i) => c.url(i)).join(",");
  const listed = async (): Promise<Listed> =>
    JSON.parse(await raftstack(["member", "list", "--json", "--endpoints", endpoints()]));

  /** Waits until some member lists exactly `ids` as voters and knows a leader among them. */
  async function waitVoters(ids: readonly number[], timeoutMs = 20_000): Promise<Listed> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const l = await listed();
        const voters = l.members.filter((m) => m.role === "voter").map((m) => m.id);
        last = JSON.stringify(l);
        if (
          JSON.stringify(voters) === JSON.stringify([...ids].sort((a, b) => a - b)) &&
          ids.includes(l.leader)
        )
          return l;
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(200);
    }
    throw new Error(`voters never became ${ids.join(",")}: ${last}`);
  }

  /**
   * `raftstack member remove id` as an operator runs it. The CLI does not resend a change whose outcome is
   * unknown (its leader lost leadership before applying it): on a busy machine an election can fall into
   * that window (CI-like load: removing the leader answered "leadership lost; the change's outcome is
   * unknown"). Then the member list says whether the change took effect; if not, it is sent again. A
   * change that did apply is still checked by waitVoters, and every write by the final pop.
   */
  async function removeMember(id: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let unknown = false;
    for (;;) {
      let failure: Error;
      try {
        assert.equal(
          await raftstack(["member", "remove", String(id), "--endpoints", endpoints()]),
          String(id),
        );
        return;
      } catch (err) {
        failure = err as Error;
      }
      const retryable = /outcome (is )?unknown|; retry/.test(failure.message);
      unknown ||= retryable;
      // After an unknown outcome, a resent remove may find the member gone already (config_invalid).
      if (!unknown || Date.now() > deadline) throw failure;
      console.log(
        `# member remove ${id}: ${/raftstack: (.*)/.exec(failure.message)?.[1]}; checking the list`,
      );
      await sleep(200);
      const l = await listed().catch(() => undefined);
      if (l !== undefined && l.leader !== 0 && !l.members.some((m) => m.id === id)) return;
      if (!retryable) throw failure;
    }
  }

  test("grow to 5, replace a dead node, remove the leader, shrink to 3: no acknowledged write lost", async () => {
    c.startAll();
    await c.waitLeader([1, 2, 3]);
    assert.equal(await curl(["-sS", "-L", `${c.url(1)}/sCreate`, "-XPOST", "-d", "jobs"]), "1");

    // A client pushes keyed items through every current member, retrying each until acknowledged.
    const acked: string[] = [];
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        const item = `w${n++}`;
        const a = await c.retry(
          c.members,
          "POST",
          "/sPush",
          `1,${item}`,
          { "idempotency-key": item },
          20_000,
        );
        assert.equal(a.status, 200, `${item}: ${a.body}`);
        acked.push(item);
      }
    })();
    // Awaited below; if a step fails first, its failure is the one reported (not an unhandled rejection).
    writer.catch(() => undefined);

    // Grow 3 → 5: the CLI adds node 4 (its id picked by the leader), raftexample's POST /{id} adds 5.
    assert.equal(await raftstack(["member", "add", c.peerUrl(4), "--endpoints", endpoints()]), "4");
    c.startJoining(4);
    c.members = [1, 2, 3, 4];
    await waitVoters([1, 2, 3, 4]);
    assert.equal(await curl(["-sS", "-L", `${c.url(2)}/5`, "-XPOST", "-d", c.peerUrl(5)]), "");
    c.startJoining(5);
    c.members = [1, 2, 3, 4, 5];
    const five = await waitVoters([1, 2, 3, 4, 5]);
    // Joined nodes publish their client URLs through the log.
    const deadline = Date.now() + 10_000;
    let urls = five.members.map((m) => m.clientUrl);
    while (urls.includes("") && Date.now() < deadline) {
      await sleep(200);
      urls = (await listed()).members.map((m) => m.clientUrl);
    }
    assert.deepEqual(
      urls,
      [1, 2, 3, 4, 5].map((i) => c.url(i)),
    );

    // Replace a dead node: kill 2, add a fresh 6 (new data dir), start it with --join, remove 2.
    await c.kill(2);
    c.members = [1, 3, 4, 5];
    // A change forwarded to a leader that just died has an unknown outcome: let them elect first.
    await c.waitLeader(c.members);
    assert.equal(await raftstack(["member", "add", c.peerUrl(6), "--endpoints", endpoints()]), "6");
    c.startJoining(6);
    c.members = [1, 3, 4, 5, 6];
    await waitVoters([1, 2, 3, 4, 5, 6]);
    await removeMember(2);
    let l = await waitVoters([1, 3, 4, 5, 6]);

    // Transfer leadership to a chosen voter, then remove the leader: it hands off and leaves.
    const target = [1, 3, 4, 5, 6].find((i) => i !== l.leader) as number;
    assert.equal(
      await raftstack(["leader", "transfer", String(target), "--endpoints", endpoints()]),
      String(target),
    );
    l = await waitVoters([1, 3, 4, 5, 6]);
    for (let k = 0; k < 50 && l.leader !== target; k++) {
      await sleep(100);
      l = await listed();
    }
    assert.equal(l.leader, target);
    c.members = [1, 3, 4, 5, 6].filter((i) => i !== target);
    await removeMember(target);
    l = await waitVoters(c.members);
    assert.notEqual(l.leader, target);
    await c.kill(target);

    // Shrink to 3: remove one more follower.
    const follower = c.members.find((i) => i !== l.leader) as number;
    c.members = c.members.filter((i) => i !== follower);
    await removeMember(follower);
    await waitVoters(c.members);
    await c.kill(follower);

    writing = false;
    await writer;
    assert.ok(acked.length > 20, `only ${acked.length} writes during the changes`);

    // Every acknowledged push is in the stack exactly once (pop everything through a member).
    const popped: string[] = [];
    for (;;) {
      // Keyed: a pop retried on another node after an unknown outcome is not applied twice.
      const a = await c.retry(c.members, "POST", "/sPop", "1", { "idempotency-key": `pop${popped.length}` });
      if (a.status === 409) break;
      assert.equal(a.status, 200, a.body);
      popped.push(a.body);
    }
    assert.equal(new Set(popped).size, popped.length, "an item was applied twice");
    const missing = acked.filter((item) => !popped.includes(item));
    assert.deepEqual(missing, [], "acknowledged pushes lost");
  });
});
