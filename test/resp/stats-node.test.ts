// The RESP counters on a real node process: INFO stats / commandstats / errorstats after known commands,
// the raftstack_resp_* series on the node's /metrics, a connection past the per-address limit counted.
// Raw sockets (no redis-cli needed). Ports 27710..27712 (this file's range: 27700-27719; peer 27710,
// HTTP 27711, RESP 27712).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { defaultClientLimits } from "../../src/server/index.js";
import { track } from "../e2e/harness.js";
import { RespCluster } from "./harness.js";
import { frame, INFO_TITLES, infoTitles, parseReplies, RawConn } from "./helpers.js";

/** The value of one series in a metrics text, or undefined. */
function series(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe("e2e: RESP counters on a node", { timeout: 60_000 }, () => {
  const c = track(new RespCluster(1, 27700)) as RespCluster;
  const conns: RawConn[] = [];
  before(() => c.startAll());
  after(async () => {
    for (const conn of conns) conn.close();
    await c.destroy();
  });
  const open = async (port: number) => {
    const conn = await RawConn.open(port);
    conns.push(conn);
    return conn;
  };
  /** INFO's text (a bulk string in RESP2) on `conn`. */
  async function info(conn: RawConn, ...sections: string[]): Promise<string> {
    const before = conn.received.length;
    conn.send(frame("INFO", ...sections));
    const text = await conn.until((r) => parseReplies(r.slice(before)).length === 1);
    const [reply] = parseReplies(text.slice(before)) as [string];
    return reply.slice(reply.indexOf("\n") + 1);
  }

  test("INFO after known commands, through Raft; a refused connection in INFO and /metrics", async () => {
    const port = c.respPort(await c.waitLeader());
    const conn = await open(port);
    const requests = [
      frame("LPUSH", "jobs", "a"),
      frame("LPUSH", "jobs", "b"),
      frame("LPUSH", "jobs", "c"),
      frame("LPUSH", "jobs"),
      frame("LLEN", "jobs"),
      frame("GET", "jobs"),
      frame("PING"),
    ];
    conn.send(requests.join(""));
    const replies = parseReplies(await conn.until((r) => parseReplies(r).length === requests.length));
    assert.deepEqual(replies.slice(0, 3), [":1", ":2", ":3"]);
    assert.equal(replies[4], ":3");
    conn.received = "";

    const all = await info(conn, "all");
    assert.deepEqual(infoTitles(all), INFO_TITLES);
    assert.match(
      all,
      /\r\ncmdstat_lpush:calls=3,usec=0,usec_per_call=0\.00,rejected_calls=1,failed_calls=0\r\n/,
    );
    assert.match(
      all,
      /\r\ncmdstat_llen:calls=1,usec=0,usec_per_call=0\.00,rejected_calls=0,failed_calls=0\r\n/,
    );
    assert.match(
      all,
      /\r\ncmdstat_get:calls=1,usec=0,usec_per_call=0\.00,rejected_calls=0,failed_calls=1\r\n/,
    );
    assert.match(all, /# Errorstats\r\nerrorstat_ERR:count=1\r\nerrorstat_WRONGTYPE:count=1\r\n/);
    assert.match(all, /\r\ntotal_commands_processed:6\r\n/);
    assert.match(all, /\r\nrejected_connections:0\r\n/);

    // The default per-address limit: every connection past it is refused with -ERR.
    const limit = defaultClientLimits.connectionsPerAddressMax;
    for (let k = 1; k < limit; k++) await open(port);
    const over = await open(port);
    await over.until(() => false);
    assert.equal(over.received, "-ERR max connections per address\r\n");
    const stats = await info(conn, "stats");
    assert.match(stats, /^# Stats\r\n/);
    assert.match(stats, /\r\nrejected_connections:1\r\n/);
    assert.match(stats, new RegExp(`^total_connections_received:${limit}\\r$`, "m"));

    const metrics = await (await fetch(`${c.url(1)}/metrics`)).text();
    const ok = series(metrics, 'raftstack_resp_commands_total{command="lpush",result="ok"}');
    assert.equal(ok, 3);
    assert.equal(series(metrics, 'raftstack_resp_commands_total{command="lpush",result="err"}'), 1);
    assert.equal(series(metrics, 'raftstack_resp_commands_total{command="get",result="wrongtype"}'), 1);
    assert.equal(series(metrics, 'raftstack_resp_rejected_total{reason="connections_per_address"}'), 1);
    assert.equal(series(metrics, "raftstack_resp_connections"), limit);
    assert.equal(series(metrics, "raftstack_resp_connections_total"), limit);
    assert.equal(series(metrics, 'raftstack_resp_closed_total{reason="peer_closed"}'), 0);
  });
});
