// The peer listener under TLS: a connection closed before its handshake ends (a TCP health check on the
// peer port, a dialler giving up while every node starts: both close before the handshake ends) is logged at info, not warned of as a refusal;
// a connection that fails the handshake (plain bytes, no client certificate) is still warned of.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { certFiles, makeDevCerts } from "../../src/cli/certs.js";
import { TcpTransport } from "../../src/transport/index.js";
import { clusterId, host, waitFor } from "./link-helpers.js";

test("a peer TLS handshake abandoned by the dialler is info; a failed one is a warning", {
  timeout: 20_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-tls-abandoned-"));
  makeDevCerts({ dir, nodes: 1 });
  const f = certFiles(dir);
  const ca = readFileSync(f.ca);
  const warnings: string[] = [];
  const infos: string[] = [];
  const t = new TcpTransport({
    id: 1,
    clusterId,
    listen: { host, port: 0 },
    onMessage() {},
    tls: { cert: readFileSync(f.node(1)), key: readFileSync(f.nodeKey(1)), ca },
    logger: { warn: (_obj, msg) => warnings.push(msg), info: (_obj, msg) => infos.push(msg) },
  });
  await t.start();
  const { port } = t.address();
  const refused = () => t.stats().tlsHandshakesRefused;
  try {
    // A TCP health check: connect, then close without a byte.
    const probe = connect({ host, port });
    await new Promise<void>((r) => probe.once("connect", () => r()));
    probe.destroy();
    await waitFor("the probe counted", () => refused() === 1);
    assert.equal(
      warnings.length,
      0,
      `no warning for a connection closed mid-handshake: ${warnings.join(", ")}`,
    );
    assert.ok(infos.includes("peer TLS handshake abandoned by the dialler"), infos.join(", "));

    // Without a client certificate the handshake fails: still a warning.
    const anonymous = tlsConnect({ host, port, ca, servername: "localhost" });
    anonymous.on("error", () => {});
    anonymous.write("x");
    const before = refused();
    await waitFor("the anonymous dialler refused", () => refused() > before);
    anonymous.destroy();
    assert.ok(warnings.includes("peer TLS handshake refused"), warnings.join(", "));
  } finally {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
