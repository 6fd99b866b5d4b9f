// Limits against abusive clients (docs/security.md "Limits"): connections per client address (HTTP 429,
// RESP -ERR), header time (slowloris, 408), requests in flight (503 overloaded); each counted in
// raftstack_client_refused_total. Plus the start-up warnings for exposed listeners.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, describe, test } from "node:test";
import { validateNodeOptions } from "../../src/node/index.js";
import { securityWarnings, startupWarnings } from "../../src/node/tls-options.js";
import { RespServer } from "../../src/resp/index.js";
import { ClientGuard, type HttpApi } from "../../src/server/index.js";
import { closeApis, FakeService, listenApi, silent } from "./fake-service.js";

const closers: (() => Promise<void> | void)[] = [];

/** A raw socket that collects what arrives and notes when it closes. */
function raw(port: number): Promise<{ socket: Socket; text: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    let got = "";
    const socket = connect({ host: "127.0.0.1", port }, () => resolve({ socket, text: () => got, closed }));
    const closed = new Promise<void>((r) => socket.on("close", () => r()));
    socket.on("data", (d: Buffer) => {
      got += d.toString();
    });
    socket.on("error", reject);
    closers.push(() => void socket.destroy());
  });
}

async function refusals(api: HttpApi): Promise<string> {
  return api.guard.metricsText();
}

describe("client limits", { timeout: 30_000 }, () => {
  after(async () => {
    for (const close of closers.reverse()) await close();
    await closeApis();
  });

  test("connections per address: the next one gets 429 and is closed", async () => {
    const { api, port } = await listenApi(new FakeService(1), { limits: { connectionsPerAddressMax: 2 } });
    const a = await raw(port);
    const b = await raw(port);
    const c = await raw(port);
    await c.closed;
    assert.match(c.text(), /^HTTP\/1\.1 429 Too Many Requests\r\n/);
    // The two within the limit still work; once one closes, a new one is accepted.
    a.socket.write("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n");
    b.socket.destroy();
    await b.closed;
    await new Promise((r) => setTimeout(r, 50));
    const d = await raw(port);
    d.socket.write("GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await d.closed;
    assert.match(d.text(), /^HTTP\/1\.1 200/);
    assert.match(a.text(), /^HTTP\/1\.1 200/);
    assert.match(await refusals(api), /listener="http",reason="connections_per_address"} 1/);
  });

  test("header time: a client dribbling its headers (slowloris) gets 408 and is closed", async () => {
    const { api, port } = await listenApi(new FakeService(1), { limits: { headersTimeoutMs: 300 } });
    const s = await raw(port);
    s.socket.write("GET /livez HTTP/1.1\r\nHost: x\r\n");
    const dribble = setInterval(() => s.socket.write("X-Slow: 1\r\n"), 100);
    try {
      const started = Date.now();
      await s.closed;
      assert.ok(Date.now() - started < 5000);
    } finally {
      clearInterval(dribble);
    }
    assert.match(s.text(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(await refusals(api), /reason="header_timeout"} 1/);
  });

  test("requests in flight: past the limit answers 503 overloaded with Retry-After", async () => {
    const { api, url } = await listenApi(new FakeService(1), { limits: { requestsInFlightMax: 2 } });
    await fetch(`${url}/sCreate`, { method: "POST", body: "q" });
    // Two pops wait for an item: they hold both slots.
    const aborts = [new AbortController(), new AbortController()];
    const waiting = aborts.map((a) =>
      fetch(`${url}/v1/stacks/1/pop?wait=10s`, { method: "POST", signal: a.signal }).catch(() => undefined),
    );
    await new Promise((r) => setTimeout(r, 200));
    const refused = await fetch(`${url}/livez`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.match(await refused.text(), /too many requests in flight/);
    for (const a of aborts) a.abort();
    await Promise.all(waiting);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await fetch(`${url}/livez`)).status, 200, "slots are given back");
    assert.match(await refusals(api), /reason="overloaded"} 1/);
  });

  test("RESP: connections per address past the limit get -ERR and are closed", async () => {
    const guard = new ClientGuard(
      { connectionsPerAddressMax: 1, headersTimeoutMs: 1000, requestsInFlightMax: 10 },
      silent,
    );
    const server = new RespServer(new FakeService(1), {
      host: "127.0.0.1",
      port: 0,
      logger: silent,
      guard,
    });
    closers.push(() => server.close());
    const port = await server.listen();
    await raw(port);
    const second = await raw(port);
    await second.closed;
    assert.equal(second.text(), "-ERR max connections per address\r\n");
    assert.match(await guard.metricsText(), /listener="resp",reason="connections_per_address"} 1/);
  });

  test("start-up warnings: a non-loopback listener without TLS or tokens", () => {
    assert.deepEqual(securityWarnings("127.0.0.1", "127.0.0.1", undefined), []);
    assert.deepEqual(securityWarnings("::1", "localhost", undefined), []);
    const open = securityWarnings("0.0.0.0", "10.0.0.5", undefined);
    assert.equal(open.length, 3);
    assert.match(open.join("\n"), /without TLS[\s\S]*without --auth-token-file[\s\S]*without peer TLS/);
    const secured = securityWarnings("10.0.0.5", "10.0.0.5", {
      authTokenFile: "t",
      clientTls: { certFile: "c", keyFile: "k", clientCertAuth: false },
      peerTls: { certFile: "c", keyFile: "k", trustedCaFile: "ca" },
    });
    assert.deepEqual(secured, []);
  });

  test("start-up warnings follow where the listeners bind, not the advertised loopback URLs", () => {
    const cluster = "http://127.0.0.2:32101,http://127.0.0.3:32102,http://127.0.0.4:32103";
    const options = (values: Record<string, string>) =>
      validateNodeOptions({ values: { id: "1", cluster, ...values }, from: {} });
    assert.deepEqual(startupWarnings(options({})), []);
    // Advertised on loopback, bound on every interface (the newcomer's trial): the peer port is open.
    const peerOpen = startupWarnings(options({ "listen-peer-url": "http://0.0.0.0:32101" }));
    assert.deepEqual(peerOpen, [
      "peer listener on 0.0.0.0 without peer TLS: anyone who reaches it can speak the Raft protocol",
      "peer listener on 0.0.0.0 with the default --cluster-token: a node of another cluster on the default token is taken for a member; give each cluster its own token",
    ]);
    const ownToken = startupWarnings(
      options({ "listen-peer-url": "http://0.0.0.0:32101", "cluster-token": "prod-stacks" }),
    );
    assert.equal(ownToken.length, 1, ownToken.join("\n"));
    const clientOpen = startupWarnings(options({ "listen-client-url": "http://0.0.0.0:32201" }));
    assert.equal(clientOpen.length, 2);
    assert.match(clientOpen.join("\n"), /client listener on 0\.0\.0\.0 without TLS/);
  });
});
