import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { NODE_FLAGS, parseNodeArgs } from "../../src/node/index.js";
import { DiskStorage, NodeDisk } from "../../src/storage/index.js";
import { errorAnswer, FakeNode } from "../client/fake-server.js";
import { cli } from "./run-cli.js";

const TEST_TIMEOUT_MS = 10_000;
const SEED_CLUSTER =
  "http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379,http://127.0.0.1:42379,http://127.0.0.1:52379";

describe("starting a node", { timeout: TEST_TIMEOUT_MS }, () => {
  test("the seed's bare flags and `node` start the same node", async () => {
    const argv = ["--id", "2", "--cluster", SEED_CLUSTER, "--port", "22380"];
    const bare = await cli(argv);
    const node = await cli(["node", ...argv]);
    assert.equal(bare.code, 0, bare.err);
    assert.equal(node.code, 0, node.err);
    assert.deepEqual(bare.started, [parseNodeArgs(argv)]);
    assert.deepEqual(node.started, bare.started);
    assert.equal(bare.started[0]!.advertiseClientUrl, "http://127.0.0.1:22380");
    assert.equal(bare.started[0]!.members[4]!.peerUrl, "http://127.0.0.1:52379");
  });

  test("every Procfile line starts node i on the seed's ports", async () => {
    const lines = readFileSync("Procfile", "utf8").trim().split("\n");
    assert.equal(lines.length, 5);
    for (const [i, line] of lines.entries()) {
      const [name, command] = line.split(/:\s+/, 2);
      assert.equal(name, `raftstack${i + 1}`);
      const words = command!.split(/\s+/);
      // exec: foreman and goreman run the line with sh -c; the node itself must get their SIGINT/SIGTERM.
      assert.deepEqual(words.slice(0, 3), ["exec", "node", "bin/raftstack.js"]);
      const { code, started } = await cli(words.slice(3));
      assert.equal(code, 0);
      assert.equal(started[0]!.id, i + 1);
      assert.equal(started[0]!.listenClient.port, (i + 1) * 10_000 + 2380);
      assert.equal(started[0]!.members.map((m) => m.peerUrl).join(","), SEED_CLUSTER);
    }
  });

  test("a node from the environment alone (containers); none at all prints help and exits 2", async () => {
    const env = { RAFTSTACK_CLUSTER: SEED_CLUSTER, RAFTSTACK_ID: "4", RAFTSTACK_DATA_DIR: "/data" };
    for (const argv of [[], ["node"]]) {
      const r = await cli(argv, env);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.started[0]!.id, 4);
      assert.equal(r.started[0]!.dataDir, "/data");
    }
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.deepEqual(none.started, []);
    assert.match(none.err, /Usage: raftstack/);
  });

  test("usage errors name the problem, exit 2 and start nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--cluster", SEED_CLUSTER], /^raftstack: --id is required: --cluster lists 5 members\n/],
      [
        ["node", "--cluster", SEED_CLUSTER, "--id", "6"],
        /--id: 6 is not a member of --cluster \(ids 1, 2, 3, 4, 5\)/,
      ],
      [["--id", "1", "--cluster", SEED_CLUSTER, "--bogus"], /^raftstack: unknown option '--bogus'/],
      [["bogus"], /unknown command "bogus"/],
      // Commander's own errors read as every other error does (README "Exit codes").
      [["push"], /^raftstack: missing required argument 'id'\n/],
      [["--id", "1", "status"], /node flags start a node: drop them or the command status/],
      [
        ["cluster", "--nodes", "9"],
        /--nodes 9 from --base-port 12380 every --port-step 10000 needs ports up to 92380/,
      ],
      [["cluster", "--base-port", "70000"], /--base-port 70000 is out of range/],
      // Overlapping ports (a newcomer's flags): every node died with EADDRINUSE and the console ran on.
      [
        [
          "cluster",
          "--nodes",
          "3",
          "--base-port",
          "23380",
          "--port-step",
          "100",
          "--resp-base-port",
          "23379",
        ],
        /port 23379 would be both node 1's peer port and node 1's Redis port/,
      ],
      [
        ["cluster", "--nodes", "3", "--base-port", "23380", "--port-step", "1"],
        /port 23380 would be both node 1's client port and node 2's peer port/,
      ],
      [["cluster", "--nodes", "0"], /--nodes: expected a positive integer, got 0/],
      [["repair"], /required option '--data-dir <dir>' not specified/],
      [["top", "0"], /stack id: expected a positive integer/],
      [["status", "--endpoints", "ftp://x:1"], /--endpoints: expected http\(s\):\/\/host:port/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.match(r.err, message, argv.join(" "));
      assert.deepEqual(r.started, []);
    }
  });

  test("--help and `node --help` list every node flag with its environment variable", async () => {
    for (const argv of [["--help"], ["node", "--help"]]) {
      const r = await cli(argv);
      assert.equal(r.code, 0);
      for (const flag of Object.keys(NODE_FLAGS)) {
        assert.match(r.out, new RegExp(`--${flag}\\b`), `${argv.join(" ")}: --${flag}`);
      }
      assert.match(r.out, /env:\s+RAFTSTACK_DATA_DIR/);
      assert.match(r.out, /--config <file>/);
      assert.match(r.out, /Precedence: flag > environment > config file > default/);
      assert.match(r.out, /Exit codes: 0 success, 1 .*, 2 bad usage.*, 3 /);
    }
  });

  test("--version prints package.json's version", async () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    for (const flag of ["--version", "-V"]) {
      const r = await cli([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.out, `${version}\n`);
    }
  });
});

/** A port nothing listens on: bound once by the kernel, then closed. */
function closedPort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

describe("client commands", { timeout: TEST_TIMEOUT_MS }, () => {
  const nodes: FakeNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });
  const fake = async (...args: ConstructorParameters<typeof FakeNode>) => {
    const node = await new FakeNode(...args).start();
    nodes.push(node);
    return node;
  };

  test("push sends the items in order to --endpoints and prints the size", async () => {
    const node = await fake(1, () => ({ status: 200, json: { size: 3 } }));
    const r = await cli(["push", "--endpoints", node.url, "4", "a", "b,c"]);
    assert.equal(r.out, "3\n");
    assert.equal(node.requests[0]!.url, "/v1/stacks/4/push");
    assert.deepEqual(JSON.parse(node.requests[0]!.body), { items: ["a", "b,c"] });
  });

  test("id of an unknown label and pop of an empty stack exit 1 with the server's code", async () => {
    const node = await fake(1, (r) =>
      r.url.startsWith("/v1/stacks?label=")
        ? errorAnswer(404, "stack_not_found")
        : errorAnswer(409, "stack_empty"),
    );
    const id = await cli(["id", "--endpoints", node.url, "nope"]);
    assert.deepEqual([id.code, id.err], [1, 'raftstack: stack_not_found: no stack labelled "nope"\n']);
    const pop = await cli(["pop", "--endpoints", node.url, "1"]);
    assert.equal(pop.code, 1);
    assert.match(pop.err, /^raftstack: stack_empty: /);
  });

  test("a stack id that is not a positive integer is a usage error, before any request", async () => {
    const node = await fake(1, () => ({ status: 200, json: { item: "x" } }));
    for (const bad of ["0", "-1", "1.5", "abc"]) {
      const r = await cli(["top", "--endpoints", node.url, bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.err, /stack id/);
    }
    assert.equal(node.requests.length, 0);
  });

  test("status: a table, --json, exit 4 with a node down, and exit 1 with a reason when no node answers", async () => {
    const node = await fake(2, (r) =>
      r.url === "/health"
        ? { status: 200, json: { ok: true, leader: 2, role: "leader", term: 7 } }
        : {
            status: 200,
            json: {
              id: 2,
              leader: 2,
              term: 7,
              members: [{ id: 2, peerUrl: "", clientUrl: "", match: 12, state: "replicate" }],
              commit: 12,
              applied: 11,
              viewFrom: 2,
            },
          },
    );
    const down = `http://127.0.0.1:${await closedPort()}`;
    const downRow = {
      ...{ up: false, error: "down", id: null, match: null, state: null, behind: null },
      ...{ lastHeardMs: null, cutOff: null },
    };
    const table = await cli(["status", "--endpoints", `${node.url},${down}`]);
    assert.equal(table.code, 4, table.err);
    assert.equal(table.err, `raftstack: degraded: down (${down})\n`);
    assert.match(table.out, new RegExp(`${node.url}\\s+2\\s+leader\\s+7\\s+2\\s+12\\s+11\\s+12\\n`));
    assert.match(table.out, new RegExp(`${down}\\s+-\\s+down`));
    const json = await cli(["status", "--json", "--endpoints", `${node.url},${down}`]);
    assert.equal(json.code, 4, json.err);
    assert.deepEqual(JSON.parse(json.out), [
      {
        endpoint: node.url,
        up: true,
        id: 2,
        role: "leader",
        term: 7,
        leader: 2,
        commit: 12,
        applied: 11,
        match: 12,
        lastHeardMs: null,
        cutOff: null,
      },
      { ...downRow, endpoint: down },
    ]);
    const none = await cli(["status", "--json", "--endpoints", down]);
    assert.equal(none.code, 1);
    assert.deepEqual(JSON.parse(none.out), [{ ...downRow, endpoint: down }]);
    assert.equal(none.err, `raftstack: unavailable: no node answered (${down})\n`);
    // RAFTSTACK_ENDPOINTS stands for --endpoints (the flag wins); without either, the seed's five ports.
    process.env.RAFTSTACK_ENDPOINTS = node.url;
    try {
      const fromEnv = await cli(["status", "--json"]);
      assert.equal(fromEnv.code, 0, fromEnv.err);
      assert.deepEqual(
        JSON.parse(fromEnv.out).map((r: { endpoint: string }) => r.endpoint),
        [node.url],
      );
      const flagWins = await cli(["status", "--json", "--endpoints", down]);
      assert.equal(flagWins.code, 1);
    } finally {
      delete process.env.RAFTSTACK_ENDPOINTS;
    }
  });

  test("status on a follower: match from the leader's view it forwards; ? and the reason without it", async () => {
    const member = (id: number, match: number | null) => ({
      id,
      peerUrl: "",
      clientUrl: "",
      match,
      state: match === null ? null : "replicate",
      ...(match === null ? { progress: "known only on the leader" } : {}),
    });
    let reason: string | undefined;
    const node = await fake(3, (r) =>
      r.url === "/health"
        ? { status: 200, json: { ok: true, leader: 1, role: "follower", term: 4 } }
        : {
            status: 200,
            json: {
              id: 3,
              leader: 1,
              term: 4,
              commit: 20,
              applied: 19,
              ...(reason === undefined
                ? { viewFrom: 1, members: [member(1, 21), member(3, 20)] }
                : { viewFrom: 3, viewReason: reason, members: [member(1, null), member(3, null)] }),
            },
          },
    );
    // Member 1 published no client URL: it cannot be asked, so the cluster is not known whole (exit 4).
    const viewed = await cli(["status", "--endpoints", node.url]);
    assert.equal(viewed.code, 4, viewed.err);
    assert.match(viewed.out, /\n\(no client URL\)\s+1\s+unreachable(\s+-){4}\s+21\n/);
    assert.match(viewed.out, /commit\s+applied\s+match\n/);
    assert.match(viewed.out, new RegExp(`${node.url}\\s+3\\s+follower\\s+4\\s+1\\s+20\\s+19\\s+20\\n`));
    reason =
      "the leader (node 1) did not answer within 300 ms: replication progress is known only on the leader";
    const local = await cli(["status", "--endpoints", node.url]);
    assert.equal(local.code, 4, local.err);
    assert.match(local.out, new RegExp(`${node.url}\\s+3\\s+follower\\s+4\\s+1\\s+20\\s+19\\s+\\?\\n`));
    assert.ok(local.out.endsWith(`match ?: ${reason}\n`), local.out);
    const json = await cli(["status", "--json", "--endpoints", node.url]);
    const rows = JSON.parse(json.out) as { endpoint: string; match: unknown; progress: unknown }[];
    const row = rows.find((r) => r.endpoint === node.url);
    assert.deepEqual([row?.match, row?.progress], [null, reason]);
  });

  test("status: each row's reason for match ? is its own (no 'not tracked' for a node whose view failed)", async () => {
    const member = (id: number, match: number) => ({
      id,
      peerUrl: "",
      clientUrl: "",
      match,
      state: "replicate",
    });
    const health = (leader: number, role: string) => ({
      status: 200,
      json: { ok: true, leader, role, term: 4 },
    });
    const view = { id: 1, leader: 1, term: 4, commit: 20, applied: 20, viewFrom: 1 };
    const leader = await fake(1, (r) =>
      r.url === "/health"
        ? health(1, "leader")
        : { status: 200, json: { ...view, members: [member(1, 20), member(2, 20), member(3, 20)] } },
    );
    // Answers /health, but its /v1/cluster fails: its id is unknown, not untracked by the leader.
    const failing = await fake(2, (r) =>
      r.url === "/health" ? health(1, "follower") : errorAnswer(500, "internal"),
    );
    const json = await cli(["status", "--json", "--endpoints", `${leader.url},${failing.url}`]);
    assert.equal(json.code, 4, json.err);
    const rows = JSON.parse(json.out) as { endpoint: string; match: unknown; progress?: string }[];
    const [leaderRow, failingRow] = [leader.url, failing.url].map((u) => rows.find((r) => r.endpoint === u));
    assert.deepEqual([leaderRow?.match, leaderRow?.progress], [20, undefined]);
    assert.equal(failingRow?.match, null);
    assert.doesNotMatch(failingRow?.progress ?? "", /not tracked/, json.out);

    // Two followers without the leader's view, for different reasons: each row says its own.
    const local = (id: number, viewReason: string) =>
      fake(id, (r) =>
        r.url === "/health"
          ? health(1, "follower")
          : { status: 200, json: { ...view, id, viewFrom: id, viewReason, members: [] } },
      );
    const a = await local(2, "no leader known: replication progress is known only on the leader");
    const b = await local(
      3,
      "the leader (node 1) did not answer within 300 ms: replication progress is known only on the leader",
    );
    const both = await cli(["status", "--json", "--endpoints", `${a.url},${b.url}`]);
    const bothRows = JSON.parse(both.out) as { endpoint: string; progress?: string }[];
    const [ra, rb] = [a.url, b.url].map((u) => bothRows.find((r) => r.endpoint === u));
    assert.match(ra?.progress ?? "", /^no leader known/);
    assert.match(rb?.progress ?? "", /^the leader \(node 1\) did not answer/, both.out);
    const table = await cli(["status", "--endpoints", `${a.url},${b.url}`]);
    assert.match(
      table.out,
      new RegExp(
        `\nmatch \\? at ${a.url}: no leader known: .*\nmatch \\? at ${b.url}: the leader \\(node 1\\) did not answer`,
      ),
      table.out,
    );
  });

  test("member add/remove/list and leader transfer: requests, output, no retry after an unknown outcome", async () => {
    const members = {
      leader: 1,
      members: [
        { id: 1, peerUrl: "http://a:7001", clientUrl: "http://a:8001", role: "voter" },
        { id: 4, peerUrl: "http://d:7007", clientUrl: "", role: "learner" },
      ],
    };
    const node = await fake(1, (r) => {
      if (r.url === "/v1/members" && r.method === "GET") return { status: 200, json: members };
      if (r.url === "/v1/members")
        return { status: 200, json: { ...JSON.parse(r.body), id: 4, role: "learner" } };
      if (r.url === "/v1/leader") return { status: 200, json: { leader: 3 } };
      if (r.url === "/v1/members/9") return errorAnswer(503, "timeout");
      return { status: 200, json: { id: 2 } };
    });
    const add = await cli([
      "member",
      "add",
      "--endpoints",
      node.url,
      "http://d:7007",
      "--client-url",
      "http://d:8007",
    ]);
    assert.deepEqual([add.code, add.out], [0, "4\n"], add.err);
    assert.deepEqual(JSON.parse(node.requests[0]!.body), {
      peerUrl: "http://d:7007",
      clientUrl: "http://d:8007",
    });
    // The next step on stderr: the command that starts the new member, every member in --cluster.
    assert.match(
      add.err,
      /^start member 4 on its host .*:\n {2}.* --id 4 --cluster 1=http:\/\/a:7001,4=http:\/\/d:7007 --join --port 8007 --advertise-client-url http:\/\/d:8007 --data-dir \.\/raftstack-4\n$/,
    );
    assert.equal(node.requests[1]!.url, "/v1/members", "the member list, for the hint");
    assert.equal((await cli(["member", "remove", "--endpoints", node.url, "2"])).out, "2\n");
    assert.deepEqual(node.requests[2], {
      method: "DELETE",
      url: "/v1/members/2",
      key: node.requests[2]!.key,
      body: "",
    });
    const list = await cli(["member", "list", "--endpoints", node.url]);
    assert.match(list.out, /1\s+voter\s+http:\/\/a:7001\s+http:\/\/a:8001\s+\*\n/);
    assert.match(list.out, /4\s+learner\s+http:\/\/d:7007\s+-\s*\n/);
    assert.deepEqual(
      JSON.parse((await cli(["member", "list", "--json", "--endpoints", node.url])).out),
      members,
    );
    assert.equal((await cli(["leader", "transfer", "--endpoints", node.url, "3"])).out, "3\n");
    assert.deepEqual(JSON.parse(node.requests.at(-1)!.body), { id: 3 });
    const before = node.requests.length;
    const unknown = await cli(["member", "remove", "--endpoints", `${node.url},${node.url}`, "9"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /^raftstack: timeout: /);
    assert.equal(node.requests.length, before + 1, "a change with an unknown outcome is not sent again");
  });
});

describe("repair", { timeout: TEST_TIMEOUT_MS }, () => {
  test("parsed by the one program: progress of the WAL scan on stderr, its flags and exit codes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftstack-repair-"));
    try {
      const storage = await DiskStorage.open(new NodeDisk(), dir);
      const data = new TextEncoder().encode("x");
      await storage.save({
        hardState: { term: 2, vote: 1, commit: 1 },
        entries: [{ index: 1, term: 2, kind: "normal", data }],
      });
      await storage.close();
      // That WAL reads cleanly: refused (exit 2) until --force.
      const intact = await cli(["repair", "--data-dir", dir]);
      assert.equal(intact.code, 2, intact.err);
      assert.match(intact.err, /^raftstack repair: repair_not_needed: nothing is damaged in /);
      const repaired = await cli(["repair", "--data-dir", dir, "--force"]);
      assert.equal(repaired.code, 0, repaired.err);
      assert.match(repaired.err, /^repair: WAL: 1 \/ 1 segments \(100%\)$/m);
      assert.match(repaired.err, /^raftstack repair: --force: overrode repair_not_needed: /m);
      const again = await cli(["repair", `--data-dir=${dir}`]);
      assert.equal(again.code, 2, again.err);
      assert.match(again.err, /repair_not_needed: nothing is damaged in .*: it was repaired already/);
      const unknown = await cli(["repair", "--data-dir", dir, "--forced"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.err, /^raftstack: unknown option '--forced'/);
      const missing = await cli(["repair", "--data-dir", join(dir, "nonexistent")]);
      assert.equal(missing.code, 2);
      assert.match(missing.err, /^raftstack: repair: --data-dir .*nonexistent does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("repair of a path that is not a data dir", { timeout: TEST_TIMEOUT_MS }, () => {
  test("a missing --data-dir or a file is a usage error (exit 2, one line), and nothing is created", async () => {
    const dir = mkdtempSync(join(tmpdir(), "raftstack-repair-missing-"));
    try {
      const missing = join(dir, "raftstack-9");
      const r = await cli(["repair", "--data-dir", missing]);
      assert.equal(r.code, 2, r.err);
      assert.equal(r.err, `raftstack: repair: --data-dir ${missing} does not exist\n`);
      assert.equal(existsSync(missing), false);
      const file = join(dir, "wal.log");
      writeFileSync(file, "");
      const notDir = await cli(["repair", "--data-dir", file]);
      assert.equal(notDir.code, 2, notDir.err);
      assert.equal(notDir.err, `raftstack: repair: --data-dir ${file} is not a directory\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("invokedAs: the command line the console tells a user to type", () => {
  test("raftstack on the PATH, under npx, or a script run with node", async () => {
    const { invokedAs } = await import("../../src/cli/invoked-as.js");
    assert.equal(invokedAs("/usr/local/bin/raftstack", undefined), "raftstack");
    // npx puts node_modules/.bin on the PATH of its child only (a newcomer's trial: the hint said
    // "raftstack status", which the shell could not find).
    assert.equal(invokedAs("/home/u/app/node_modules/.bin/raftstack", "exec"), "npx raftstack");
    assert.equal(invokedAs(join(process.cwd(), "bin", "raftstack.js"), undefined), "node bin/raftstack.js");
  });
});
