// Node settings from flags, RAFTSTACK_* environment variables and --config files: one validate().
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  envNameOf,
  NODE_FLAGS,
  type NodeFlag,
  type NodeOptions,
  nodeDefaults,
  parseNodeArgs,
  UsageError,
  type UsageErrorCode,
  validateNodeOptions,
} from "../../src/node/index.js";

const TEST_TIMEOUT_MS = 10_000;
const PEERS = ["http://127.0.0.1:12379", "http://127.0.0.1:22379", "http://127.0.0.1:32379"];
const dir = mkdtempSync(join(tmpdir(), "raftstack-flags-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function usageError(code: UsageErrorCode, message: RegExp) {
  return (err: unknown) => err instanceof UsageError && err.code === code && message.test(err.message);
}

describe("node settings", { timeout: TEST_TIMEOUT_MS }, () => {
  test("the seed's flags and the defaults", () => {
    const o = parseNodeArgs(["--id", "2", "--cluster", PEERS.join(","), "--port", "22380"]);
    assert.deepEqual(o, {
      id: 2,
      members: PEERS.map((peerUrl, i) => ({ id: i + 1, peerUrl })),
      join: false,
      listenPeerUrl: PEERS[1],
      listenClient: { host: "127.0.0.1", port: 22380 },
      advertiseClientUrl: "http://127.0.0.1:22380",
      portSources: { client: "--port", peer: "--cluster, node 2's URL", resp: "--resp-port" },
      dataDir: "./raftstack-2",
      ...nodeDefaults,
    });
    // --port defaults to this node's peer port + 1 (the seed's layout); no other node's URL is guessed.
    assert.equal(parseNodeArgs(["--id", "3", "--cluster", PEERS.join(",")]).listenClient.port, 32380);
  });

  test("--cluster: URLs in id order or explicit id=URL pairs; any port layout", () => {
    const layout = ["1=http://127.0.0.1:7001", "3=http://127.0.0.1:7005", "6=http://[::1]:7009"];
    const o = parseNodeArgs(["--id", "3", "--cluster", layout.join(","), "--port", "8003"]);
    assert.deepEqual(
      o.members.map((m) => [m.id, m.peerUrl]),
      [
        [1, "http://127.0.0.1:7001"],
        [3, "http://127.0.0.1:7005"],
        [6, "http://[::1]:7009"],
      ],
    );
    assert.equal(o.advertiseClientUrl, "http://127.0.0.1:8003");
    assert.equal(parseNodeArgs(["--id", "6", "--cluster", layout.join(",")]).listenClient.host, "::1");
    assert.equal(
      parseNodeArgs(["--id", "6", "--cluster", layout.join(",")]).advertiseClientUrl,
      "http://[::1]:7010",
    );
    assert.equal(parseNodeArgs(["--cluster", "5=http://h:1"]).id, 5);
  });

  test("listen and advertise addresses (containers, NAT, several hosts)", () => {
    const base = ["--id", "2", "--cluster", PEERS.join(",")];
    const o = parseNodeArgs([
      ...base,
      "--listen-peer-url",
      "http://0.0.0.0:2380",
      "--listen-client-url",
      "http://0.0.0.0:2379",
      "--advertise-client-url",
      "http://node2.example:32379/",
    ]);
    assert.equal(o.listenPeerUrl, "http://0.0.0.0:2380");
    assert.deepEqual(o.listenClient, { host: "0.0.0.0", port: 2379 });
    assert.equal(o.advertiseClientUrl, "http://node2.example:32379");
    // Binding every interface still advertises the peer URL's host.
    const wild = parseNodeArgs([...base, "--host", "0.0.0.0", "--port", "9002"]);
    assert.equal(wild.advertiseClientUrl, "http://127.0.0.1:9002");
    // --client-urls (compatibility) gives the initial client URLs, this node's own included.
    const compat = parseNodeArgs([...base, "--client-urls", "http://a:1,http://b:2,http://c:3"]);
    assert.equal(compat.advertiseClientUrl, "http://b:2");
    assert.equal(compat.listenClient.port, 2);
    assert.equal(compat.members[2]!.clientUrl, "http://c:3");
    assert.equal(compat.portSources.client, "--client-urls, node 2's entry");
    assert.equal(parseNodeArgs(base).portSources.client, "--port default, the peer port + 1");
  });

  test("--id is required unless --cluster has one member", () => {
    assert.throws(
      () => parseNodeArgs(["--cluster", PEERS.join(",")]),
      usageError("missing_value", /--id is required: --cluster lists 3 members/),
    );
    assert.equal(parseNodeArgs(["--cluster", PEERS[0]!]).id, 1);
  });

  test("precedence: flag > environment > config file > default", () => {
    const config = file(
      "node.yaml",
      `# a node's config\nid: 3\ncluster:\n${PEERS.map((u) => `  - ${u}`).join("\n")}\n` +
        "tick-ms: 7\nheartbeat-ticks: 2\ndata-dir: /from/file\nlog-level: warn\n",
    );
    const env = { RAFTSTACK_CONFIG: config, RAFTSTACK_TICK_MS: "5", RAFTSTACK_DATA_DIR: "/from/env" };
    const o = parseNodeArgs(["--data-dir", "/from/flag"], env);
    assert.equal(o.dataDir, "/from/flag"); // flag beats env and file
    assert.equal(o.tickMs, 5); // env beats file
    assert.equal(o.heartbeatTicks, 2); // file beats default
    assert.equal(o.electionTicks, nodeDefaults.electionTicks); // default
    assert.equal(o.id, 3);
    assert.deepEqual(
      o.members.map((m) => m.peerUrl),
      PEERS,
    );
    assert.equal(o.logLevel, "warn");
    // --config on the line beats RAFTSTACK_CONFIG; an empty variable counts as unset.
    const json = file("node.json", JSON.stringify({ id: 1, cluster: PEERS.join(","), "tick-ms": 9 }));
    const p = parseNodeArgs(["--config", json], { ...env, RAFTSTACK_TICK_MS: "", RAFTSTACK_DATA_DIR: "" });
    assert.equal(p.id, 1);
    assert.equal(p.tickMs, 9);
    assert.equal(p.dataDir, "./raftstack-1");
  });

  test("every node flag has an environment variable that works", () => {
    const env = { RAFTSTACK_CLUSTER: PEERS.join(","), RAFTSTACK_ID: "2", RAFTSTACK_PORT: "0" };
    // The same options, but for where their ports came from (a port in use names that).
    const { portSources, ...fromEnv } = parseNodeArgs([], env);
    const { portSources: _, ...fromFlags } = parseNodeArgs([
      "--cluster",
      PEERS.join(","),
      "--id",
      "2",
      "--port",
      "0",
    ]);
    assert.deepEqual(fromEnv, fromFlags);
    assert.deepEqual(portSources, {
      client: "RAFTSTACK_PORT",
      peer: "RAFTSTACK_CLUSTER, node 2's URL",
      resp: "--resp-port",
    });
    assert.equal(envNameOf("request-timeout-ms"), "RAFTSTACK_REQUEST_TIMEOUT_MS");
    assert.equal(
      parseNodeArgs(["--id", "1"], { ...env, RAFTSTACK_REQUEST_TIMEOUT_MS: "77" }).requestTimeoutMs,
      77,
    );
    assert.equal(parseNodeArgs(["--id", "1"], { ...env, RAFTSTACK_HOST: "::" }).listenClient.host, "::");
    assert.equal(parseNodeArgs([], { ...env, RAFTSTACK_JOIN: "true" }).join, true);
    assert.throws(
      () => parseNodeArgs([], { ...env, RAFTSTACK_JOIN: "maybe" }),
      usageError("invalid_value", /RAFTSTACK_JOIN: expected true or false/),
    );
  });

  test("errors name the flag, variable or file key they come from", () => {
    const cluster = ["--cluster", PEERS.join(","), "--id", "1"];
    const cases: Array<[string[], NodeJS.ProcessEnv, UsageErrorCode, RegExp]> = [
      [[...cluster, "--tick-ms", "x"], {}, "invalid_value", /^--tick-ms: expected an integer from 1 to/],
      [cluster, { RAFTSTACK_TICK_MS: "0" }, "invalid_value", /^RAFTSTACK_TICK_MS: expected an integer/],
      [[...cluster, "--port", "70000"], {}, "invalid_value", /^--port: expected an integer from 0 to 65535/],
      [["--id", "4", "--cluster", PEERS.join(",")], {}, "invalid_value", /^--id: 4 is not a member/],
      [["--id", "1", "--cluster", `1=${PEERS[0]},${PEERS[1]}`], {}, "invalid_value", /not both/],
      [["--id", "1", "--cluster", `1=${PEERS[0]},1=${PEERS[1]}`], {}, "invalid_value", /id appears twice/],
      [["--id", "1", "--cluster", `${PEERS[0]},${PEERS[0]}`], {}, "invalid_value", /URL appears twice/],
      [
        [...cluster, "--listen-client-url", "http://0.0.0.0:1", "--port", "2"],
        {},
        "invalid_value",
        /drop --port and --host/,
      ],
      [[...cluster, "--advertise-client-url", "http://h:0"], {}, "invalid_value", /needs a real port/],
      [["--id", "1"], {}, "missing_value", /--cluster is required/],
      [["--cluster", "nonsense"], {}, "invalid_value", /--cluster: not a URL with an explicit port/],
      [[...cluster, "--bogus"], {}, "unknown_option", /unknown option '--bogus'/],
      [[...cluster, "--port"], {}, "missing_value", /argument missing/],
      [[...cluster, "--log-level", "loud"], {}, "invalid_value", /--log-level: expected one of fatal/],
      [[...cluster, "--election-ticks", "3"], {}, "invalid_value", /--election-ticks \(3\) must exceed/],
      [[...cluster, "--client-urls", "http://a:1"], {}, "invalid_value", /--client-urls lists 1 URLs/],
      // A 2^31 ms timer would fire at once in Node: the product is capped.
      [
        [...cluster, "--tick-ms", "200000000"],
        {},
        "invalid_value",
        /--tick-ms: expected an integer from 1 to/,
      ],
    ];
    for (const [argv, env, code, message] of cases) {
      assert.throws(() => parseNodeArgs(argv, env), usageError(code, message), argv.join(" "));
    }
  });

  test("config file: unknown keys, wrong types and unreadable files are usage errors", () => {
    const typo = file("typo.yaml", `cluster: ${PEERS[0]}\ndata_dir: /x\n`);
    assert.throws(
      () => parseNodeArgs(["--config", typo]),
      usageError("unknown_option", /unknown key "data_dir"/),
    );
    const list = file("list.yaml", "- 1\n- 2\n");
    assert.throws(
      () => parseNodeArgs(["--config", list]),
      usageError("config_unreadable", /expected a mapping/),
    );
    const broken = file("broken.yaml", "cluster: [unclosed\n");
    assert.throws(
      () => parseNodeArgs(["--config", broken]),
      usageError("config_unreadable", /not YAML or JSON/),
    );
    assert.throws(
      () => parseNodeArgs(["--config", join(dir, "missing.yaml")]),
      (e: unknown) => usageError("config_unreadable", /missing\.yaml/)(e) && (e as Error).cause !== undefined,
    );
    const wrong = file("wrong.yaml", `cluster: ${PEERS[0]}\nport: [1]\n`);
    assert.throws(
      () => parseNodeArgs(["--config", wrong]),
      usageError(
        "invalid_value",
        new RegExp(`^port in ${wrong.replaceAll(".", "\\.")}: expected an integer`),
      ),
    );
    // An empty file and `key:` (null) mean "nothing set".
    const empty = file("empty.yaml", "");
    assert.equal(parseNodeArgs(["--config", empty, "--cluster", PEERS[0]!]).id, 1);
    const nulls = file("nulls.yaml", `cluster: ${PEERS[0]}\nport:\n`);
    assert.equal(parseNodeArgs(["--config", nulls]).listenClient.port, 12380);
  });

  test("validateNodeOptions takes file-typed values (numbers, lists) as it takes strings", () => {
    const fromStrings = validateNodeOptions({
      values: { id: "2", cluster: PEERS.join(","), "tick-ms": "4" },
      from: {},
    });
    const fromFile = validateNodeOptions({ values: { id: 2, cluster: PEERS, "tick-ms": 4 }, from: {} });
    assert.deepEqual(fromFile, fromStrings);
    assert.throws(() => validateNodeOptions({ values: { cluster: PEERS, id: 1.5 }, from: {} }), UsageError);
    assert.throws(() => validateNodeOptions({ values: { cluster: [1, 2] }, from: {} }), UsageError);
  });

  test("every flag in the table is accepted on the line and reaches NodeOptions", () => {
    const tlsKeyPair = { certFile: "/c", keyFile: "/k", clientCertAuth: false };
    const HTTPS_PEER = "https://127.0.0.1:12379";
    const peerTlsArgs = [
      "--peer-cert-file",
      "/pc",
      "--peer-key-file",
      "/pk",
      "--peer-trusted-ca-file",
      "/pca",
    ];
    const peerTls = { certFile: "/pc", keyFile: "/pk", trustedCaFile: "/pca" };
    // Typed by NodeFlag: a new flag without a sample here fails to compile.
    const samples: Record<NodeFlag, [string[], Partial<NodeOptions>]> = {
      id: [["--id", "1"], { id: 1 }],
      cluster: [["--cluster", PEERS[0]!], { members: [{ id: 1, peerUrl: PEERS[0]! }] }],
      join: [["--join"], { join: true }],
      "cluster-token": [["--cluster-token", "t"], { clusterToken: "t" }],
      port: [["--port", "0"], { listenClient: { host: "127.0.0.1", port: 0 } }],
      host: [["--host", "::1"], { listenClient: { host: "::1", port: 12380 } }],
      "listen-peer-url": [["--listen-peer-url", "http://0.0.0.0:1"], { listenPeerUrl: "http://0.0.0.0:1" }],
      "listen-client-url": [
        ["--listen-client-url", "http://127.0.0.2:5"],
        { listenClient: { host: "127.0.0.2", port: 5 }, advertiseClientUrl: "http://127.0.0.2:5" },
      ],
      "advertise-client-url": [
        ["--advertise-client-url", "http://x:1"],
        { advertiseClientUrl: "http://x:1" },
      ],
      "resp-port": [["--resp-port", "16379"], { respPort: 16379 }],
      "data-dir": [["--data-dir", "/d"], { dataDir: "/d" }],
      "client-urls": [
        ["--client-urls", "http://127.0.0.1:1"],
        {
          members: [{ id: 1, peerUrl: PEERS[0]!, clientUrl: "http://127.0.0.1:1" }],
          advertiseClientUrl: "http://127.0.0.1:1",
          listenClient: { host: "127.0.0.1", port: 1 },
        },
      ],
      "tick-ms": [["--tick-ms", "3"], { tickMs: 3 }],
      "heartbeat-ticks": [["--heartbeat-ticks", "2"], { heartbeatTicks: 2 }],
      "election-ticks": [["--election-ticks", "20"], { electionTicks: 20 }],
      "snapshot-entries": [["--snapshot-entries", "5"], { snapshotEntries: 5 }],
      "request-timeout-ms": [["--request-timeout-ms", "9"], { requestTimeoutMs: 9 }],
      "log-level": [["--log-level", "warn"], { logLevel: "warn" }],
      "auth-token-file": [["--auth-token-file", "/t"], { security: { authTokenFile: "/t" } }],
      "cert-file": [["--cert-file", "/c", "--key-file", "/k"], { security: { clientTls: tlsKeyPair } }],
      "key-file": [["--key-file", "/k", "--cert-file", "/c"], { security: { clientTls: tlsKeyPair } }],
      "trusted-ca-file": [
        ["--cert-file", "/c", "--key-file", "/k", "--trusted-ca-file", "/ca"],
        { security: { clientTls: { ...tlsKeyPair, trustedCaFile: "/ca" } } },
      ],
      "client-cert-auth": [
        ["--cert-file", "/c", "--key-file", "/k", "--trusted-ca-file", "/ca", "--client-cert-auth"],
        { security: { clientTls: { ...tlsKeyPair, trustedCaFile: "/ca", clientCertAuth: true } } },
      ],
      "peer-cert-file": [["--cluster", HTTPS_PEER, ...peerTlsArgs], { security: { peerTls } }],
      "peer-key-file": [["--cluster", HTTPS_PEER, ...peerTlsArgs], { security: { peerTls } }],
      "peer-trusted-ca-file": [["--cluster", HTTPS_PEER, ...peerTlsArgs], { security: { peerTls } }],
    };
    assert.deepEqual(Object.keys(samples).sort(), Object.keys(NODE_FLAGS).sort());
    for (const [flag, [argv, expected]] of Object.entries(samples)) {
      const o = parseNodeArgs(["--cluster", PEERS[0]!, ...argv]);
      assert.deepEqual({ ...o, ...expected }, o, flag);
    }
  });
});
