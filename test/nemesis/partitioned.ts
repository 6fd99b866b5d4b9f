// Real node processes on loopback whose packets a Netfilter can cut: what the partition tests share.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { NemesisCluster } from "./cluster.js";
import { Netfilter, NetfilterUnavailableError } from "./netfilter.js";
import { isolate } from "./topology.js";

export interface Partitioned {
  readonly nf: Netfilter;
  readonly cluster: NemesisCluster;
  /** Data dirs under dir/data, logs under dir/logs (node-N.log). */
  readonly dir: string;
  /** Stops the nodes, removes the rules and cgroups, deletes the dir. */
  close(): Promise<void>;
}

/**
 * A cluster of `ids` (not started) on ports from `basePort` (node i: basePort + 10i and + 10i + 1), or
 * undefined after skipping `t` in one line where partitions are unavailable (no root/iptables/cgroup v2).
 * A cut drops a node's packets to the other's peer and client ports (a follower proxies writes to the
 * leader's client URL), or with `peerOnly` to its peer port alone: a cut-off node still answers the others'
 * HTTP requests (a separate client network that stays up).
 */
export async function partitionedCluster(
  t: TestContext,
  o: {
    readonly ids: readonly number[];
    readonly basePort: number;
    readonly nodeArgs: readonly string[];
    readonly peerOnly?: boolean;
  },
): Promise<Partitioned | undefined> {
  let nf: Netfilter;
  try {
    nf = await Netfilter.create(o.ids, (i) =>
      o.peerOnly === true ? [o.basePort + 10 * i] : [o.basePort + 10 * i, o.basePort + 10 * i + 1],
    );
  } catch (err) {
    if (!(err instanceof NetfilterUnavailableError)) throw err;
    t.skip(`partitions unavailable here: ${err.message}`);
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), "raftstack-partitioned-"));
  const t0 = performance.now();
  const cluster = new NemesisCluster({
    size: o.ids.length,
    joinsMax: 0,
    basePort: o.basePort,
    dataRoot: join(dir, "data"),
    logDir: join(dir, "logs"),
    netfilter: nf,
    nodeArgs: o.nodeArgs,
    now: () => performance.now() - t0,
  });
  return {
    nf,
    cluster,
    dir,
    async close() {
      await cluster.stopAll();
      nf.cleanupSync();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts every node of `ids`, waits for a leader, and cuts one follower off both ways. */
export async function cutOffAFollower(
  setup: Partitioned,
  ids: readonly number[],
): Promise<{ readonly leader: number; readonly cut: number }> {
  for (const i of ids) setup.cluster.start(i);
  const leader = await setup.cluster.waitLeader(20_000);
  assert.ok(leader !== undefined, "a leader is elected");
  const cut = ids.find((i) => i !== leader)!;
  await setup.nf.apply(isolate(ids, cut));
  return { leader, cut };
}
