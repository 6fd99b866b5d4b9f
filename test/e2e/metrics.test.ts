// The operators' metrics on real node processes: every series issue 14 asks for is exported with
// Prometheus naming, and SIGKILLing the leader moves the followers' leader-change counters while
// their has_leader dips to 0; docs/grafana-dashboard.json uses only exported series.
// Ports 27000-27039 belong to this file (Cluster(3, 27000)).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { Cluster, sleep, track } from "./harness.js";

/** Series and their Prometheus types (item 3 of issue 14). */
const SERIES: Readonly<Record<string, string>> = {
  raftstack_has_leader: "gauge",
  raftstack_leader_changes_total: "counter",
  raftstack_proposals_pending: "gauge",
  raftstack_proposals_failed_total: "counter",
  raftstack_proposals_refused_total: "counter",
  raftstack_apply_lag_entries: "gauge",
  raftstack_replication_lag_entries: "gauge",
  raftstack_send_queue_messages: "gauge",
  raftstack_send_queue_bytes: "gauge",
  raftstack_peer_connected: "gauge",
  raftstack_peer_silence_resets_total: "counter",
  raftstack_peer_sent_messages_total: "counter",
  raftstack_peer_sent_bytes_total: "counter",
  raftstack_peer_received_messages_total: "counter",
  raftstack_peer_received_bytes_total: "counter",
  raftstack_transport_errors_total: "counter",
  raftstack_wal_written_bytes_total: "counter",
  raftstack_fsync_latency_seconds: "histogram",
  raftstack_snapshot_duration_seconds: "histogram",
  raftstack_snapshot_size_bytes: "gauge",
  raftstack_http_requests_total: "counter",
  raftstack_sessions: "gauge",
};
/** How often the followers' has_leader is read during the failover. */
const SAMPLE_EVERY_MS = 2;
/**
 * A slower tick widens the leaderless window (a follower drops the dead leader when its connection
 * breaks and campaigns within half an election timeout) from ~0.1 s to ~0.3-0.6 s, so sampling the
 * gauge over HTTP sees it even on a loaded machine.
 */
const NODE_ARGS = ["--tick-ms", "40"];

describe("e2e: metrics", { timeout: 60_000 }, () => {
  const c = track(new Cluster(3, 27000, NODE_ARGS));
  before(() => c.startAll());
  after(() => c.destroy());

  test("every series with Prometheus naming; a leader kill moves leader changes, has_leader dips", async () => {
    const leader = await c.waitLeader();
    await c.retry([leader], "POST", "/sCreate", "m");
    await c.retry([leader], "POST", "/sPush", "1,x");
    const text = (await c.http(leader, "GET", "/metrics")).body;
    for (const [name, type] of Object.entries(SERIES)) {
      assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, "m"), `${name} (${type})`);
    }
    for (const [, name, type] of text.matchAll(/^# TYPE (raftstack_\S+) (\S+)$/gm)) {
      if (type === "counter") assert.match(name!, /_total$/, `counter ${name} ends in _total`);
      if (/duration|latency/.test(name!)) assert.match(name!, /_seconds$/, `${name} in seconds`);
    }
    // The sample Grafana dashboard asks only for series that exist.
    const grafana = readFileSync("docs/grafana-dashboard.json", "utf8");
    for (const [name] of grafana.matchAll(/raftstack_[a-z_]+/g)) {
      const series = name.replace(/_bucket$/, "");
      assert.match(text, new RegExp(`^# TYPE ${series} `, "m"), `docs/grafana-dashboard.json: ${name}`);
    }
    assert.match(text, /^raftstack_http_requests_total\{method="POST",route="\/sPush",status="200"\} \d+$/m);
    assert.match(text, /^raftstack_replication_lag_entries\{peer="\d"\} \d+$/m);

    const followers = c.ids().filter((i) => i !== leader);
    const before_ = await Promise.all(followers.map((i) => c.metric(i, "raftstack_leader_changes_total")));
    for (const i of followers) assert.equal(await c.metric(i, "raftstack_has_leader"), 1);
    // Sample has_leader on the followers while waiting for their new leader.
    let sampling = true;
    let dips = 0;
    const sampler = (async () => {
      while (sampling) {
        const values = await Promise.all(followers.map((i) => c.metric(i, "raftstack_has_leader")));
        if (values.includes(0)) dips++;
        await sleep(SAMPLE_EVERY_MS);
      }
    })();
    await c.kill(leader);
    const next = await c.waitLeader(followers, 15_000).finally(() => {
      sampling = false;
    });
    await sampler;
    assert.notEqual(next, 0, "a new leader");
    const after_ = await Promise.all(followers.map((i) => c.metric(i, "raftstack_leader_changes_total")));
    process.stderr.write(
      `metrics e2e: leader ${leader} killed, node ${next} leads; leader changes ${before_} -> ${after_}; has_leader 0 in ${dips} samples\n`,
    );
    for (const [k, i] of followers.entries()) {
      assert.ok(after_[k]! > before_[k]!, `leader changes moved on node ${i}`);
    }
    assert.ok(dips > 0, "has_leader dipped to 0 on a follower");
    for (const i of followers) assert.equal(await c.metric(i, "raftstack_has_leader"), 1);
  });
});
