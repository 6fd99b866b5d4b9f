// The RESP listener's counters (src/resp/stats.ts): per command and result, INFO stats / commandstats /
// errorstats in Redis's format, the raftstack_resp_* metrics, connections refused and closed by reason.
// Listeners on port 0 over the stand-in service; the real-node check is stats-node.test.ts.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { Registry } from "prom-client";
import { certFiles, makeDevCerts } from "../../src/cli/certs.js";
import { RespServer } from "../../src/resp/index.js";
import { RespStats } from "../../src/resp/stats.js";
import { ClientGuard, TokenAuth } from "../../src/server/index.js";
import { FakeService, silent } from "../server/fake-service.js";
import { frame, INFO_TITLES, infoTitles, parseReplies, RawConn } from "./helpers.js";

const none = () => ({ connections: 0, bytesRead: 0, bytesWritten: 0 });

/** The value of one series in a metrics text, or undefined. */
function series(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** INFO's `field:value` lines as a map (the section headers and blank lines left out). */
function fields(info: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of info.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) out.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return out;
}

describe("RespStats", () => {
  test("counts per command and result; INFO commandstats, errorstats and stats as Redis writes them", () => {
    const s = new RespStats(["LPUSH", "LLEN", "GET"], () => ({
      connections: 2,
      bytesRead: 100,
      bytesWritten: 200,
    }));
    const lpush = s.commandId("LPUSH");
    assert.equal(s.commandId("lpush"), lpush, "any case");
    assert.equal(s.commandId("NOPE"), s.unknown);
    s.ok(lpush, 5);
    s.reply(lpush, { t: "int", n: 1 });
    s.reply(lpush, { t: "error", s: "NOLEADER no leader known; nothing was applied, retry" });
    s.reply(lpush, { t: "error", s: "ERR wrong number of arguments for 'lpush' command" });
    s.rejectedCall(lpush);
    s.reply(s.commandId("GET"), { t: "error", s: "WRONGTYPE Operation against a key" });
    s.reply(s.unknown, { t: "error", s: "ERR unknown command 'NOPE'" });
    s.rejectedCall(s.unknown);
    s.connectionOpened();
    s.connectionOpened();
    s.refused("connections_max");
    s.refused("connections_per_address");
    s.refused("tls_handshake");
    s.connectionClosed("reply_backlog");
    assert.deepEqual(s.infoCommandstats(), [
      ["cmdstat_lpush", "calls=7,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=1"],
      ["cmdstat_get", "calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1"],
    ]);
    assert.deepEqual(s.infoErrorstats(), [
      ["errorstat_ERR", "count=2"],
      ["errorstat_NOLEADER", "count=1"],
      ["errorstat_WRONGTYPE", "count=1"],
    ]);
    assert.deepEqual(s.infoStats(), [
      ["total_connections_received", 2],
      ["total_commands_processed", 8],
      ["total_net_input_bytes", 100],
      ["total_net_output_bytes", 200],
      ["rejected_connections", 2],
      ["client_output_buffer_limit_disconnections", 1],
      ["total_error_replies", 4],
    ]);
  });

  test("metrics: published when scraped, each scrape the total (not added twice), reasons present at 0", async () => {
    const registry = new Registry();
    const s = new RespStats(["LPUSH"], () => ({ connections: 3, bytesRead: 0, bytesWritten: 0 }));
    s.register(registry);
    const lpush = s.commandId("LPUSH");
    s.ok(lpush, 4);
    s.error(lpush, "NOAUTH Authentication required.");
    s.connectionOpened();
    s.connectionClosed("quit");
    let text = await registry.metrics();
    assert.equal(series(text, 'raftstack_resp_commands_total{command="lpush",result="ok"}'), 4);
    assert.equal(series(text, 'raftstack_resp_commands_total{command="lpush",result="noauth"}'), 1);
    assert.equal(series(text, "raftstack_resp_connections"), 3);
    assert.equal(series(text, "raftstack_resp_connections_total"), 1);
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="unauthorized"}'), 1, "NOAUTH");
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="connections_max"}'), 0);
    assert.equal(series(text, 'raftstack_resp_closed_total{reason="quit"}'), 1);
    assert.equal(series(text, 'raftstack_resp_closed_total{reason="shutdown"}'), 0);
    s.ok(lpush, 2);
    s.error(lpush, "WRONGPASS invalid username-password pair or user is disabled.");
    s.error(lpush, "NOPERM this command needs the write role; the token has read");
    text = await registry.metrics();
    assert.equal(series(text, 'raftstack_resp_commands_total{command="lpush",result="ok"}'), 6);
    assert.equal(series(text, "raftstack_resp_connections_total"), 1);
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="unauthorized"}'), 1);
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="wrong_password"}'), 1);
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="forbidden"}'), 1);
    assert.equal(series(text, 'raftstack_resp_closed_total{reason="quit"}'), 1);
  });

  test("error codes past the 47th share OTHER, so a flood of codes cannot grow the label set", async () => {
    const registry = new Registry();
    const s = new RespStats(["PING"], none);
    s.register(registry);
    for (let i = 0; i < 60; i++) s.error(0, `CODE${i} message`);
    const errors = new Map(s.infoErrorstats());
    assert.equal(errors.size, 48);
    assert.equal(errors.get("errorstat_OTHER"), "count=13");
    assert.equal(errors.get("errorstat_CODE46"), "count=1");
    const text = await registry.metrics();
    assert.equal(series(text, 'raftstack_resp_commands_total{command="ping",result="other"}'), 13);
  });
});

describe("RESP listener counters", { timeout: 60_000 }, () => {
  const closers: (() => Promise<void>)[] = [];
  const conns: RawConn[] = [];
  after(async () => {
    for (const c of conns) c.close();
    for (const close of closers) await close();
  });
  async function start(
    options: Partial<ConstructorParameters<typeof RespServer>[1]> = {},
  ): Promise<{ server: RespServer; port: number; registry: Registry }> {
    const registry = new Registry();
    const server = new RespServer(new FakeService(1), {
      host: "127.0.0.1",
      port: 0,
      logger: silent,
      registry,
      ...options,
    });
    closers.push(() => server.close());
    return { server, port: await server.listen(), registry };
  }
  const open = async (port: number) => {
    const c = await RawConn.open(port);
    conns.push(c);
    return c;
  };
  /** INFO `section` on a connection of its own (its reply is a bulk string in RESP2). */
  async function info(port: number, ...sections: string[]): Promise<string> {
    const c = await open(port);
    c.send(frame("INFO", ...sections));
    const text = await c.until((r) => {
      const [head] = parseReplies(r);
      return head !== undefined;
    });
    c.close();
    const [reply] = parseReplies(text);
    return (reply as string).slice((reply as string).indexOf("\n") + 1);
  }
  /** Polls until `check` passes: a close is counted when the server's socket closes, after the client's. */
  async function eventually(check: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  test("known commands, fast lane and normal path: commandstats, errorstats, stats and the metrics", async () => {
    const { port, registry } = await start();
    const c = await open(port);
    // Three plain LPUSH (a fast-lane run), then the normal path: an arity error, an unknown command,
    // another type's command, a read, ECHO, and a push with two items.
    const requests = [
      frame("LPUSH", "jobs", "a"),
      frame("LPUSH", "jobs", "b"),
      frame("LPUSH", "jobs", "c"),
      frame("LPUSH", "jobs"),
      frame("NOPE"),
      frame("GET", "jobs"),
      frame("LLEN", "jobs"),
      frame("ECHO", "hi"),
      frame("LPUSH", "jobs", "d", "e"),
    ];
    c.send(requests.join(""));
    const replies = parseReplies(await c.until((r) => parseReplies(r).length === requests.length));
    assert.deepEqual(replies.slice(0, 3), [":1", ":2", ":3"]);
    assert.equal(replies[6], ":3");
    assert.equal(replies[8], ":5");
    const commandstats = await info(port, "commandstats");
    assert.equal(
      commandstats,
      "# Commandstats\r\n" +
        "cmdstat_lpush:calls=4,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n" +
        "cmdstat_llen:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n" +
        "cmdstat_echo:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n" +
        "cmdstat_get:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n",
    );
    assert.equal(
      await info(port, "errorstats"),
      "# Errorstats\r\nerrorstat_ERR:count=2\r\nerrorstat_WRONGTYPE:count=1\r\n",
    );
    const stats = fields(await info(port, "stats"));
    // The INFO before this one counts: Redis counts a command once it has answered.
    assert.equal(stats.get("total_commands_processed"), "9");
    assert.equal(stats.get("total_error_replies"), "3");
    assert.equal(stats.get("total_connections_received"), "4");
    assert.ok(Number(stats.get("total_net_input_bytes")) > requests.join("").length);
    assert.ok(Number(stats.get("total_net_output_bytes")) > 0);
    const text = await registry.metrics();
    assert.equal(series(text, 'raftstack_resp_commands_total{command="lpush",result="ok"}'), 4);
    assert.equal(series(text, 'raftstack_resp_commands_total{command="lpush",result="err"}'), 1);
    assert.equal(series(text, 'raftstack_resp_commands_total{command="unknown",result="err"}'), 1);
    assert.equal(series(text, 'raftstack_resp_commands_total{command="get",result="wrongtype"}'), 1);
    assert.equal(series(text, 'raftstack_resp_commands_total{command="info",result="ok"}'), 3);
    assert.equal(series(text, "raftstack_resp_connections_total"), 4);
  });

  test("INFO: no section is every section but commandstats in Redis's order, everything adds it; INFO stats only stats", async () => {
    const { port } = await start();
    const all = await info(port);
    assert.deepEqual(
      infoTitles(all),
      INFO_TITLES.filter((t) => t !== "# Commandstats"),
    );
    assert.deepEqual(infoTitles(await info(port, "everything")), INFO_TITLES);
    // An empty section is its title alone, as in Redis.
    assert.match(all, /# Errorstats\r\n\r\n# Keyspace\r\n$/);
    const stats = await info(port, "stats");
    assert.match(stats, /^# Stats\r\ntotal_connections_received:\d+\r\n/);
    assert.deepEqual(infoTitles(stats), ["# Stats"]);
    const two = await info(port, "STATS", "errorstats");
    assert.deepEqual(infoTitles(two), ["# Stats", "# Errorstats"]);
  });

  test("connections: opened, open, closed by QUIT, protocol error, the client's FIN, a reset, shutdown", async () => {
    const { server, port, registry } = await start();
    const quit = await open(port);
    await quit.roundTrip(frame("QUIT"), "+OK\r\n");
    const bad = await open(port);
    bad.send("*1\r\n$x\r\n");
    await bad.until(() => false);
    assert.match(bad.received, /^-ERR Protocol error/);
    const fin = await open(port);
    fin.socket.end(frame("PING"));
    await fin.until(() => false);
    assert.equal(fin.received, "+PONG\r\n");
    const reset = await open(port);
    await reset.roundTrip(frame("PING"), "+PONG\r\n");
    reset.socket.resetAndDestroy();
    const idle = await open(port);
    await idle.roundTrip(frame("PING"), "+PONG\r\n");
    await eventually(async () => {
      const text = await registry.metrics();
      assert.equal(series(text, "raftstack_resp_connections"), 1, "the idle one is open");
      assert.equal(series(text, "raftstack_resp_connections_total"), 5);
      for (const reason of ["quit", "protocol_error", "peer_closed", "socket_error"]) {
        assert.equal(series(text, `raftstack_resp_closed_total{reason="${reason}"}`), 1, reason);
      }
    });
    await server.close();
    await eventually(async () => {
      const text = await registry.metrics();
      assert.equal(series(text, 'raftstack_resp_closed_total{reason="shutdown"}'), 1);
      assert.equal(series(text, "raftstack_resp_connections"), 0);
    });
  });

  test("a client that does not read its replies is closed as reply_backlog", async () => {
    const { port } = await start({ limits: { replyBytesMax: 256 * 1024 } });
    const c = await open(port);
    await c.roundTrip(frame("LPUSH", "big", "x".repeat(60_000)), ":1\r\n");
    c.socket.pause();
    // Reads and writes alternate, so replies are flushed run after run, past the limit.
    c.send((frame("LRANGE", "big", "0", "-1") + frame("LPUSH", "other", "x")).repeat(400));
    await eventually(async () => {
      assert.equal(fields(await info(port, "stats")).get("client_output_buffer_limit_disconnections"), "1");
    });
  });

  test("refused connections: connectionsMax and the per-address limit, in INFO and the metrics", async () => {
    const { port, registry } = await start({ limits: { connectionsMax: 2 } });
    const first = await open(port);
    await first.roundTrip(frame("PING"), "+PONG\r\n");
    const second = await open(port);
    await second.roundTrip(frame("PING"), "+PONG\r\n");
    // The third is dropped by Node before it is served.
    const third = connect({ host: "127.0.0.1", port });
    third.on("error", () => {});
    await once(third, "close");
    second.close();
    await eventually(async () => {
      const text = await registry.metrics();
      assert.equal(series(text, 'raftstack_resp_rejected_total{reason="connections_max"}'), 1);
      assert.equal(series(text, "raftstack_resp_connections_total"), 2);
    });
    first.send(frame("INFO", "stats"));
    assert.match(await first.until((r) => r.includes("rejected_connections:")), /rejected_connections:1\r\n/);

    const guard = new ClientGuard(
      { connectionsPerAddressMax: 1, headersTimeoutMs: 1000, requestsInFlightMax: 10 },
      silent,
    );
    const limited = await start({ guard });
    const kept = await open(limited.port);
    await kept.roundTrip(frame("PING"), "+PONG\r\n");
    const over = await open(limited.port);
    await over.until(() => false);
    assert.equal(over.received, "-ERR max connections per address\r\n");
    const text = await limited.registry.metrics();
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="connections_per_address"}'), 1);
    assert.equal(series(text, "raftstack_resp_connections_total"), 1, "the refused one was never served");
    kept.send(frame("INFO", "stats"));
    assert.match(await kept.until((r) => r.includes("rejected_connections:")), /rejected_connections:1\r\n/);
  });

  test("TLS: a failed handshake is refused as tls_handshake, a served TLS connection counted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftstack-resp-stats-tls-"));
    makeDevCerts({ dir, nodes: 1 });
    const f = certFiles(dir);
    const tls = { cert: readFileSync(f.node(1)), key: readFileSync(f.nodeKey(1)) };
    const { port, registry } = await start({ tls });
    // Plain text to a TLS listener: the handshake fails at its first byte.
    const plain = connect({ host: "127.0.0.1", port });
    plain.on("error", () => {});
    plain.end(frame("PING"));
    await once(plain, "close");
    const secure = tlsConnect({ host: "127.0.0.1", port, ca: readFileSync(f.ca) });
    await once(secure, "secureConnect");
    secure.write(frame("PING"));
    await once(secure, "data");
    await eventually(async () => {
      const text = await registry.metrics();
      assert.equal(series(text, 'raftstack_resp_rejected_total{reason="tls_handshake"}'), 1);
      assert.equal(series(text, "raftstack_resp_connections_total"), 1, "the refused one was never served");
      assert.equal(series(text, 'raftstack_resp_commands_total{command="ping",result="ok"}'), 1);
    });
    secure.destroy();
  });

  test("refused requests: -WRONGPASS, -NOAUTH (normal path and fast-lane run), -NOPERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftstack-resp-stats-"));
    const tokenFile = join(dir, "tokens");
    writeFileSync(tokenFile, "reader-token-0123456789 read\nwriter-token-0123456789 write\n");
    const access = new TokenAuth(tokenFile);
    const { port, registry } = await start({ access });
    const c = await open(port);
    await c.roundTrip(
      frame("AUTH", "not-a-token"),
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    await c.roundTrip(frame("LLEN", "jobs"), "-NOAUTH Authentication required.\r\n");
    const run = frame("LPUSH", "jobs", "a").repeat(3);
    await c.roundTrip(run, "-NOAUTH Authentication required.\r\n".repeat(3));
    await c.roundTrip(frame("AUTH", "reader-token-0123456789"), "+OK\r\n");
    c.send(frame("LPUSH", "jobs", "a", "b"));
    await c.until((r) => r.includes("NOPERM"));
    const text = await registry.metrics();
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="wrong_password"}'), 1);
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="unauthorized"}'), 4);
    assert.equal(series(text, 'raftstack_resp_rejected_total{reason="forbidden"}'), 1);
    c.send(frame("INFO", "commandstats", "errorstats"));
    const infoText = await c.until((r) => r.includes("errorstat_WRONGPASS"));
    assert.match(
      infoText,
      /cmdstat_lpush:calls=0,usec=0,usec_per_call=0.00,rejected_calls=4,failed_calls=0\r\n/,
    );
    assert.match(
      infoText,
      /cmdstat_auth:calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n/,
    );
    assert.match(
      infoText,
      /errorstat_NOAUTH:count=4\r\nerrorstat_NOPERM:count=1\r\nerrorstat_WRONGPASS:count=1/,
    );
  });
});
