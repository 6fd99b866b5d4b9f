// Client TLS in process: HTTPS with client-certificate authentication, the client library's tls and token
// options, RESP over TLS. Certificates from `raftstack certs` (makeDevCerts). The real-process check is test/e2e/security.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { certFiles, makeDevCerts } from "../../src/cli/certs.js";
import { RaftstackClient, RaftstackError } from "../../src/client/index.js";
import { RespServer } from "../../src/resp/index.js";
import { HttpApi, TokenAuth } from "../../src/server/index.js";
import { cli } from "../cli/run-cli.js";
import { frame } from "../resp/helpers.js";
import { FakeService, silent } from "./fake-service.js";

const dir = mkdtempSync(join(tmpdir(), "raftstack-tls-"));
makeDevCerts({ dir, nodes: 2 });
const f = certFiles(dir);
const ca = readFileSync(f.ca);
const nodeTls = (id: number) => ({ cert: readFileSync(f.node(id)), key: readFileSync(f.nodeKey(id)) });
const clientCert = { cert: readFileSync(f.client), key: readFileSync(f.clientKey) };

const closers: (() => Promise<void>)[] = [];

async function https(service: FakeService, id: number, access?: TokenAuth) {
  const api = new HttpApi(service, {
    host: "127.0.0.1",
    port: 0,
    requestTimeoutMs: 500,
    logger: silent,
    tls: { ...nodeTls(id), ca, requestCert: true, rejectUnauthorized: true },
    ...(access === undefined ? {} : { access }),
  });
  closers.push(() => api.close());
  return `https://127.0.0.1:${await api.listen()}`;
}

describe("client TLS", { timeout: 30_000 }, () => {
  after(async () => {
    for (const close of closers) await close();
  });

  test("HTTPS with client certificates: the client library with cert and token; without a cert, nothing", async () => {
    const tokens = join(dir, "tokens");
    writeFileSync(tokens, "tls-writer-token-0123456789 write\n");
    const url = await https(new FakeService(1), 1, new TokenAuth(tokens));
    const client = new RaftstackClient({
      endpoints: [url],
      tls: { ca, ...clientCert },
      token: "tls-writer-token-0123456789",
      retries: 0,
    });
    const noCert = new RaftstackClient({ endpoints: [url], tls: { ca }, retries: 0, deadlineMs: 2000 });
    const plain = new RaftstackClient({
      endpoints: [url.replace("https:", "http:")],
      retries: 0,
      deadlineMs: 2000,
    });
    try {
      const id = await client.createStack("s");
      assert.equal(await client.push(id, "x"), 1);
      await assert.rejects(noCert.size(id), (e: unknown) => e instanceof RaftstackError && e.status === 0);
      await assert.rejects(plain.size(id), (e: unknown) => e instanceof RaftstackError && e.status === 0);
    } finally {
      await Promise.all([client.close(), noCert.close(), plain.close()]);
    }
  });

  test("the CLI: a bare --endpoints host:port with --cacert/--cert/--key is asked over HTTPS", async () => {
    // Found in a newcomer's trial: a bare host:port always meant http://, and the HTTPS listener cut the
    // plain request ("UND_ERR_SOCKET other side closed").
    const url = await https(new FakeService(1), 1);
    const tls = ["--cacert", f.ca, "--cert", f.client, "--key", f.clientKey];
    const created = await cli(["create", "bare", "--endpoints", new URL(url).host, ...tls]);
    assert.equal(created.code, 0, created.err);
    assert.equal(created.out, "1\n");
    const explicit = await cli(["size", "1", "--endpoints", url.replace("https:", "http:"), ...tls]);
    assert.equal(explicit.code, 1, "an explicit http:// is kept, TLS files or not");
    assert.match(explicit.err, /^raftstack: unavailable: /);
  });

  test("RESP over TLS", async () => {
    const server = new RespServer(new FakeService(1), {
      host: "127.0.0.1",
      port: 0,
      logger: silent,
      tls: { ...nodeTls(1) },
    });
    closers.push(() => server.close());
    const port = await server.listen();
    const reply = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: "127.0.0.1", port, ca }, () => s.write(frame("LPUSH", "k", "a")));
      let got = "";
      s.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.endsWith("\r\n")) {
          s.destroy();
          resolve(got);
        }
      });
      s.on("error", reject);
    });
    assert.equal(reply, ":1\r\n");
  });

  test("a connection that never starts its TLS handshake is closed by the HTTPS and RESP listeners", async () => {
    // Before any certificate is seen anyone can open one; Node closes it on its own only after 120 s
    // (HTTPS) or never (RESP), while it counts towards the connection limits and holds up close().
    const api = new HttpApi(new FakeService(1), {
      host: "127.0.0.1",
      port: 0,
      requestTimeoutMs: 500,
      logger: silent,
      tls: { ...nodeTls(1) },
      limits: { headersTimeoutMs: 300 },
    });
    closers.push(() => api.close());
    const resp = new RespServer(new FakeService(1), {
      host: "127.0.0.1",
      port: 0,
      logger: silent,
      tls: { ...nodeTls(1) },
      limits: { tlsHandshakeTimeoutMs: 300 },
    });
    closers.push(() => resp.close());
    const silentClient = (port: number) =>
      new Promise<boolean>((resolve) => {
        const s = connect({ host: "127.0.0.1", port });
        s.on("error", () => {});
        s.resume();
        const guard = setTimeout(() => {
          s.destroy();
          resolve(false);
        }, 5000);
        s.on("close", () => {
          clearTimeout(guard);
          resolve(true);
        });
      });
    const [https, tls] = await Promise.all([
      silentClient(await api.listen()),
      silentClient(await resp.listen()),
    ]);
    assert.deepEqual({ https, resp: tls }, { https: true, resp: true }, "closed within 5 s");
  });
});
