// Security against real node processes (docs/security.md): a TLS cluster (client HTTPS, RESP over TLS,
// peer mTLS, tokens) serves curl --cacert and refuses plain HTTP; each role gets exactly its rights;
// SIGHUP re-reads tokens; a process without a peer certificate cannot connect or inject a frame while
// the cluster keeps serving (and the same injection does move a plain cluster: the control);
// --client-cert-auth requires a client certificate.
// Ports: this file's range is 31000-31299 (TLS cluster 310i0/310i1/310i2, plain control 311i0/311i1,
// client-cert node 31210/31211).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect as netConnect, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { Agent, request } from "undici";
import { certFiles, makeDevCerts, tlsNodeArgs } from "../../src/cli/certs.js";
import { RaftstackClient, RaftstackError } from "../../src/client/index.js";
import { clusterIdOf, nodeDefaults } from "../../src/node/index.js";
import { encodeHelloFrame, encodeMessageFrame } from "../../src/transport/codec.js";
import { frame } from "../resp/helpers.js";
import { Cluster, sleep, track } from "./harness.js";

const TOKENS = {
  read: "e2e-reader-0123456789abcdef",
  write: "e2e-writer-0123456789abcdef",
  admin: "e2e-admin-0123456789abcdef0",
} as const;
type Role = keyof typeof TOKENS;

/** Node processes with client TLS, peer mTLS, a token file and a RESP port, per node certificates. */
class TlsCluster extends Cluster {
  readonly certs: string;
  readonly tokenFile: string;
  constructor(size: number, basePort: number) {
    super(size, basePort);
    this.certs = join(this.dir, "certs");
    this.tokenFile = join(this.dir, "tokens");
    makeDevCerts({ dir: this.certs, nodes: size });
    writeFileSync(
      this.tokenFile,
      Object.entries(TOKENS)
        .map(([role, t]) => `${t} ${role}`)
        .join("\n"),
    );
  }
  override peerUrl(i: number): string {
    return super.peerUrl(i).replace("http:", "https:");
  }
  override url(i: number): string {
    return super.url(i).replace("http:", "https:");
  }
  respPort(i: number): number {
    return this.basePort + 10 * i + 2;
  }
  override args(i: number): string[] {
    return [
      ...super.args(i),
      ...tlsNodeArgs(this.certs, i),
      "--auth-token-file",
      this.tokenFile,
      "--resp-port",
      String(this.respPort(i)),
    ];
  }
  get ca(): Buffer {
    return readFileSync(certFiles(this.certs).ca);
  }
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

async function call(
  agent: Agent,
  url: string,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const r = await request(url, {
    method: method as "GET",
    headers,
    dispatcher: agent,
    headersTimeout: 5000,
    bodyTimeout: 5000,
    ...(body === undefined ? {} : { body }),
  });
  return { status: r.statusCode, body: await r.body.text() };
}

/** Runs a command; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((res) => {
    execFile(cmd, [...args], { timeout: 20_000, env }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      res({ code, stdout, stderr });
    });
  });
}

/** Waits until /health of node 1 (open to all) names a leader; returns it. */
async function waitLeader(agent: Agent, url: string, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const a = await call(agent, `${url}/health`, "GET");
      const leader = (JSON.parse(a.body) as { leader: number }).leader;
      if (leader !== 0) return leader;
    } catch {
      // starting
    }
    await sleep(100);
  }
  throw new Error(`no leader at ${url} within ${timeoutMs} ms`);
}

/**
 * What an intruder without a peer certificate does: connects, claims to be member 2 of the cluster in
 * a HELLO frame, and sends a heartbeat of term 1000 that would make the node follow it. Resolves when
 * the node closed the connection, with the bytes the node sent back.
 */
function inject(socket: Socket, clusterId: string, to: number): Promise<Buffer> {
  return new Promise((res) => {
    const got: Buffer[] = [];
    socket.on("data", (d: Buffer) => got.push(d));
    socket.on("error", () => {});
    socket.on("close", () => res(Buffer.concat(got)));
    const send = () => {
      socket.write(encodeHelloFrame({ clusterId, from: 2, to }));
      socket.write(encodeMessageFrame({ type: "heartbeat", from: 2, to, term: 1000, commit: 0, readSeq: 0 }));
      // The node that accepted the frames keeps the connection open: close it after a moment.
      setTimeout(() => socket.destroy(), 1500);
    };
    if (socket.connecting) socket.once("connect", send);
    else send();
  });
}

describe("security (real processes)", { timeout: 120_000 }, () => {
  const c = track(new TlsCluster(3, 31000)) as TlsCluster;
  let agent: Agent;
  let leader = 0;
  const auth = (role: Role) => ({ authorization: `Bearer ${TOKENS[role]}` });

  before(async () => {
    c.startAll();
    agent = new Agent({ connect: { ca: c.ca } });
    leader = await waitLeader(agent, c.url(1));
  });
  after(async () => {
    await agent?.close();
    await c.destroy();
  });

  test("a TLS cluster serves curl --cacert and refuses plain HTTP", async () => {
    const ca = certFiles(c.certs).ca;
    const bearer = `Authorization: Bearer ${TOKENS.write}`;
    const created = await run("curl", [
      "-sS",
      "--cacert",
      ca,
      "-H",
      bearer,
      "-XPOST",
      `${c.url(1)}/sCreate`,
      "-d",
      "tls",
    ]);
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout;
    assert.match(id, /^[0-9]+$/);
    // Through a follower too (it proxies to the leader over HTTPS).
    const follower = leader === 2 ? 3 : 2;
    const pushed = await run("curl", [
      "-sS",
      "--cacert",
      ca,
      "-H",
      bearer,
      "-XPOST",
      `${c.url(follower)}/sPush`,
      "-d",
      `${id},x`,
    ]);
    assert.deepEqual([pushed.code, pushed.stdout], [0, "1"], pushed.stderr);
    const plain = await run("curl", [
      "-sS",
      "-XPOST",
      `${c.url(1).replace("https:", "http:")}/sSize`,
      "-d",
      id,
    ]);
    assert.notEqual(plain.code, 0, `plain HTTP answered: ${plain.stdout}`);
    const unverified = await run("curl", ["-sS", "-XPOST", `${c.url(1)}/sSize`, "-d", id]);
    assert.equal(unverified.code, 60, "curl without the CA must not trust the node");
  });

  test("each role gets exactly its rights: HTTP JSON and seed routes, client library, CLI, RESP over TLS", async () => {
    const client = (role?: Role) =>
      new RaftstackClient({
        endpoints: c.ids().map((i) => c.url(i)),
        tls: { ca: c.ca },
        retries: 3,
        ...(role === undefined ? {} : { token: TOKENS[role] }),
      });
    const [none, reader, writer, admin] = [client(), client("read"), client("write"), client("admin")];
    try {
      const code = (p: Promise<unknown>) =>
        p.then(
          () => "ok",
          (e: unknown) => (e instanceof RaftstackError ? e.code : String(e)),
        );
      const id = await writer.createStack("roles");
      assert.equal(await writer.push(id, ["a", "b"]), 2);
      assert.deepEqual(
        await Promise.all([code(none.size(id)), code(none.push(id, "x")), code(none.deleteStack(id))]),
        ["unauthorized", "unauthorized", "unauthorized"],
      );
      assert.deepEqual(
        await Promise.all([code(reader.size(id)), code(reader.top(id)), code(reader.listStacks())]),
        ["ok", "ok", "ok"],
      );
      assert.deepEqual(
        await Promise.all([code(reader.push(id, "x")), code(reader.pop(id)), code(reader.createStack("r"))]),
        ["forbidden", "forbidden", "forbidden"],
      );
      assert.equal(await code(writer.pop(id)), "ok");
      assert.equal(await code(writer.deleteStack(id)), "forbidden");
      assert.equal(await reader.size(id), 1, "refused writes changed nothing");
      // Seed text endpoints obey the same rules, on every node.
      for (const i of c.ids()) {
        const r = await call(agent, `${c.url(i)}/sPop`, "POST", String(id), auth("read"));
        assert.equal(r.status, 403, `node ${i}: ${r.body}`);
        assert.equal((await call(agent, `${c.url(i)}/sSize`, "POST", String(id))).status, 401);
        assert.equal((await call(agent, `${c.url(i)}/sSize`, "POST", String(id), auth("read"))).body, "1");
      }
      // The CLI: --cacert and the token from RAFTSTACK_TOKEN.
      const cli = resolve("bin/raftstack.js");
      const cliArgs = ["size", String(id), "--endpoints", c.url(1), "--cacert", certFiles(c.certs).ca];
      const noToken = await run(process.execPath, [cli, ...cliArgs], { ...process.env, RAFTSTACK_TOKEN: "" });
      assert.equal(noToken.code, 1, noToken.stderr);
      assert.match(noToken.stderr, /unauthorized/);
      const withToken = await run(process.execPath, [cli, ...cliArgs], {
        ...process.env,
        RAFTSTACK_TOKEN: TOKENS.read,
      });
      assert.deepEqual([withToken.code, withToken.stdout], [0, "1\n"], withToken.stderr);
      assert.equal(await code(admin.deleteStack(id)), "ok");
    } finally {
      await Promise.all([none, reader, writer, admin].map((x) => x.close()));
    }
    // RESP over TLS: NOAUTH, then the role decides.
    // On the leader: a follower's RESP listener does not forward writes.
    const socket = tlsConnect({ host: "127.0.0.1", port: c.respPort(leader), ca: c.ca });
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      received += d;
    });
    const reply = async (bytes: string, pattern: RegExp) => {
      const before = received.length;
      socket.write(bytes);
      const deadline = Date.now() + 5000;
      while (!pattern.test(received.slice(before))) {
        if (Date.now() > deadline) throw new Error(`RESP: ${JSON.stringify(received.slice(before))}`);
        await sleep(20);
      }
    };
    try {
      await reply(frame("LLEN", "k"), /^-NOAUTH/);
      await reply(frame("AUTH", TOKENS.read), /^\+OK/);
      await reply(frame("LPUSH", "k", "v"), /^-NOPERM/);
      await reply(frame("AUTH", TOKENS.write), /^\+OK/);
      await reply(frame("LPUSH", "k", "v"), /^:1/);
      await reply(frame("DEL", "k"), /^-NOPERM/);
      await reply(frame("AUTH", TOKENS.admin), /^\+OK/);
      await reply(frame("DEL", "k"), /^:1/);
    } finally {
      socket.destroy();
    }
  });

  test("a follower's /v1/cluster: 401 without a token, nothing asked; a read token gets the leader's view over peer mTLS", async () => {
    const follower = leader === 2 ? 3 : 2;
    const url = `${c.url(follower)}/v1/cluster`;
    assert.equal((await call(agent, url, "GET")).status, 401);
    const r = await call(agent, url, "GET", undefined, auth("read"));
    assert.equal(r.status, 200, r.body);
    const view = JSON.parse(r.body) as { leader: number; viewFrom: number; members: { match: unknown }[] };
    assert.equal(view.viewFrom, view.leader, r.body);
    assert.notEqual(view.viewFrom, follower);
    assert.ok(view.members.length === 3 && view.members.every((m) => typeof m.match === "number"), r.body);
  });

  // Found in a newcomer's trial: save ignored --cacert and --token (its client and its download had
  // neither), so a secured cluster could not be backed up ("self-signed certificate in certificate chain").
  test("snapshot save from the TLS cluster through a follower: --cacert and an admin token; write is refused", async () => {
    const cli = resolve("bin/raftstack.js");
    const follower = leader === 2 ? 3 : 2;
    const save = (file: string, role: Role) =>
      run(process.execPath, [
        cli,
        ...["snapshot", "save", join(c.dir, file), "--endpoints", c.url(follower)],
        ...["--cacert", certFiles(c.certs).ca, "--token", TOKENS[role]],
      ]);
    const saved = await save("admin.rsb", "admin");
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(saved.stdout, /^saved .*admin\.rsb: snapshot at index \d+ from node \d+/);
    assert.ok(existsSync(join(c.dir, "admin.rsb")));
    const refused = await save("write.rsb", "write");
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /forbidden/);
    assert.equal(existsSync(join(c.dir, "write.rsb")), false);
  });

  test("SIGHUP re-reads the token file: a new token works, a removed one stops", async () => {
    const fresh = "e2e-fresh-token-0123456789";
    writeFileSync(c.tokenFile, `${TOKENS.write} write\n${TOKENS.admin} admin\n${fresh} read\n`);
    for (const i of c.ids()) c.signal(i, "SIGHUP");
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (
        await call(agent, `${c.url(1)}/v1/stacks`, "GET", undefined, { authorization: `Bearer ${fresh}` })
      ).status;
      if (status === 200) break;
      await sleep(50);
    }
    assert.equal(status, 200);
    assert.equal((await call(agent, `${c.url(1)}/v1/stacks`, "GET", undefined, auth("read"))).status, 401);
    const log = readFileSync(join(c.dir, "node-1.log"), "utf8");
    assert.ok(!log.includes(fresh) && !log.includes(TOKENS.read), "a token reached the log");
  });

  test("without a valid peer certificate nothing connects or is read; the cluster keeps serving", async () => {
    // The cluster id every member sends (the default --cluster-token's): only TLS keeps the intruder out.
    const clusterId = clusterIdOf(nodeDefaults.clusterToken);
    const termBefore = (JSON.parse((await call(agent, `${c.url(1)}/health`, "GET")).body) as { term: number })
      .term;
    const peerPort = c.basePort + 10;
    // Plain TCP to the TLS peer port: the HELLO is not a TLS ClientHello; closed, nothing answered.
    const plain = await inject(netConnect({ host: "127.0.0.1", port: peerPort }), clusterId, 1);
    assert.equal(plain.length === 0 || plain[0] === 0x15, true, "only a TLS alert may come back");
    // TLS without a client certificate, and with one from another CA: the handshake fails.
    const otherCa = join(c.dir, "other-ca");
    makeDevCerts({ dir: otherCa, nodes: 2 });
    const other = certFiles(otherCa);
    for (const creds of [{}, { cert: readFileSync(other.node(2)), key: readFileSync(other.nodeKey(2)) }]) {
      const s = tlsConnect({ host: "127.0.0.1", port: peerPort, ca: c.ca, ...creds });
      await inject(s, clusterId, 1);
    }
    // Still one leader, at the old term: the heartbeat of term 1000 never reached Raft.
    const h = JSON.parse((await call(agent, `${c.url(1)}/health`, "GET")).body) as {
      term: number;
      leader: number;
    };
    assert.ok(h.leader !== 0 && h.term < 1000, `term ${h.term} (was ${termBefore})`);
    const r = await call(agent, `${c.url(1)}/sCreate`, "POST", "after-intruder", auth("write"));
    assert.equal(r.status, 200, r.body);
    const log = readFileSync(join(c.dir, "node-1.log"), "utf8");
    assert.ok((log.match(/peer TLS handshake refused/g) ?? []).length >= 3, "refusals are logged");
  });
});

describe("security controls (real processes)", { timeout: 60_000 }, () => {
  test("control: the same injection moves a plain cluster (so the TLS test above can fail)", async () => {
    const plain = track(new Cluster(3, 31100));
    try {
      plain.startAll();
      await plain.waitLeader();
      const clusterId = clusterIdOf(nodeDefaults.clusterToken);
      await inject(netConnect({ host: "127.0.0.1", port: plain.basePort + 10 }), clusterId, 1);
      const s = await plain.status(1);
      assert.ok(s.term >= 1000, `term ${s.term}: the injected heartbeat was applied`);
    } finally {
      await plain.destroy();
    }
  });

  test("--client-cert-auth refuses a client without a certificate signed by --trusted-ca-file", async () => {
    const node = new (class extends Cluster {
      override url(i: number): string {
        return super.url(i).replace("http:", "https:");
      }
      override args(i: number): string[] {
        const flags = ["--cert-file", f.node(1), "--key-file", f.nodeKey(1), "--trusted-ca-file", f.ca];
        return [...super.args(i), ...flags, "--client-cert-auth"];
      }
    })(1, 31200);
    track(node);
    const f = certFiles(join(node.dir, "certs"));
    makeDevCerts({ dir: join(node.dir, "certs"), nodes: 1 });
    try {
      node.start(1);
      const url = `${node.url(1)}/livez`;
      let ok: { code: number; stdout: string; stderr: string } = { code: -1, stdout: "", stderr: "" };
      for (let k = 0; k < 100 && ok.code !== 0; k++) {
        ok = await run("curl", ["-sS", "--cacert", f.ca, "--cert", f.client, "--key", f.clientKey, url]);
        if (ok.code !== 0) await sleep(100);
      }
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /"live":true/);
      const without = await run("curl", ["-sS", "--cacert", f.ca, url]);
      assert.notEqual(without.code, 0, `answered without a client certificate: ${without.stdout}`);
    } finally {
      await node.destroy();
    }
  });
});
