import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { PassThrough } from "node:stream";
import { after, describe, test } from "node:test";
import { DEFAULT_ENDPOINTS, parseEndpoints } from "../../src/cli/endpoints.js";
import { buildProgram, route } from "../../src/cli/program.js";
import { RaftstackError } from "../../src/client/index.js";
import { parseNodeArgs } from "../../src/node/index.js";
import { errorAnswer, FakeNode } from "../client/fake-server.js";

const TEST_TIMEOUT_MS = 10_000;
const SEED_CLUSTER =
  "http://127.0.0.1:12379,http://127.0.0.1:22379,http://127.0.0.1:32379,http://127.0.0.1:42379,http://127.0.0.1:52379";

describe("raftstack argument routing", { timeout: TEST_TIMEOUT_MS }, () => {
  test("the seed's bare node flags reach parseNodeArgs verbatim", () => {
    const argv = ["--id", "2", "--cluster", SEED_CLUSTER, "--port", "22380"];
    const r = route(argv);
    assert.equal(r.kind, "node");
    assert.ok(r.kind === "node");
    assert.deepEqual(r.argv, argv);
    const options = parseNodeArgs(r.argv);
    assert.equal(options.id, 2);
    assert.equal(options.port, 22380);
    assert.equal(options.peerUrls.length, 5);
    assert.equal(options.clientUrls[4], "http://127.0.0.1:52380");
    assert.equal(options.dataDir, "./raftstack-2");
  });

  test("`node` and `repair` strip their word; other commands and help go to commander", () => {
    assert.deepEqual(route(["node", "--id", "1"]), { kind: "node", argv: ["--id", "1"] });
    assert.deepEqual(route(["repair", "--data-dir", "d"]), { kind: "repair", argv: ["--data-dir", "d"] });
    for (const argv of [
      ["create", "x"],
      ["--help"],
      ["-V"],
      [],
      ["node", "--help"],
      ["cluster", "--nodes", "3"],
    ]) {
      assert.deepEqual(route(argv), { kind: "command" }, argv.join(" "));
    }
  });

  test("every Procfile line starts node i on the seed's ports", () => {
    const lines = readFileSync("Procfile", "utf8").trim().split("\n");
    assert.equal(lines.length, 5);
    lines.forEach((line, i) => {
      const [name, command] = line.split(/:\s+/, 2);
      assert.equal(name, `raftstack${i + 1}`);
      const words = command!.split(/\s+/);
      // exec: foreman and goreman run the line with sh -c; the node itself must get their SIGINT/SIGTERM.
      assert.deepEqual(words.slice(0, 3), ["exec", "node", "bin/raftstack.js"]);
      const r = route(words.slice(3));
      assert.ok(r.kind === "node");
      const options = parseNodeArgs(r.argv);
      assert.equal(options.id, i + 1);
      assert.equal(options.port, (i + 1) * 10_000 + 2380);
      assert.equal(options.peerUrls.join(","), SEED_CLUSTER);
    });
  });
});

describe("--endpoints", { timeout: TEST_TIMEOUT_MS }, () => {
  test("accepts URLs, host:port and bare ports", () => {
    assert.deepEqual(parseEndpoints("http://10.0.0.1:8080/, 127.0.0.1:22380,32380"), [
      "http://10.0.0.1:8080",
      "http://127.0.0.1:22380",
      "http://127.0.0.1:32380",
    ]);
  });

  test("rejects what is not an http URL with a port", () => {
    for (const bad of ["", ",", "https://a:1", "http://a", "ftp://a:21", "http://a:x"]) {
      assert.throws(() => parseEndpoints(bad), /--endpoints/, bad);
    }
  });

  test("defaults to the five local seed ports", () => {
    assert.deepEqual(
      DEFAULT_ENDPOINTS,
      [12380, 22380, 32380, 42380, 52380].map((p) => `http://127.0.0.1:${p}`),
    );
  });
});

describe("client commands", { timeout: TEST_TIMEOUT_MS }, () => {
  const nodes: FakeNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  async function run(argv: string[]): Promise<string> {
    const out = new PassThrough();
    const err = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    const program = buildProgram({ out, err, input: new PassThrough(), color: false });
    await program.parseAsync(argv, { from: "user" });
    return Buffer.concat(chunks).toString("utf8");
  }

  test("push sends the items in order to --endpoints and prints the size", async () => {
    const node = await new FakeNode(1, () => ({ status: 200, json: { size: 3 } })).start();
    nodes.push(node);
    assert.equal(await run(["push", "--endpoints", node.url, "4", "a", "b,c"]), "3\n");
    assert.equal(node.requests[0]!.url, "/v1/stacks/4/push");
    assert.deepEqual(JSON.parse(node.requests[0]!.body), { items: ["a", "b,c"] });
  });

  test("id of an unknown label and pop of an empty stack fail with the server's code", async () => {
    const node = await new FakeNode(1, (r) =>
      r.url.startsWith("/v1/stacks?label=")
        ? errorAnswer(404, "stack_not_found")
        : errorAnswer(409, "stack_empty"),
    ).start();
    nodes.push(node);
    await assert.rejects(
      run(["id", "--endpoints", node.url, "nope"]),
      (e: unknown) => e instanceof RaftstackError && e.code === "stack_not_found",
    );
    await assert.rejects(
      run(["pop", "--endpoints", node.url, "1"]),
      (e: unknown) => e instanceof RaftstackError && e.code === "stack_empty" && e.status === 409,
    );
  });

  test("a stack id that is not a positive integer is a usage error, before any request", async () => {
    const node = await new FakeNode(1, () => ({ status: 200, json: { item: "x" } })).start();
    nodes.push(node);
    for (const bad of ["0", "-1", "1.5", "abc"]) {
      await assert.rejects(run(["top", "--endpoints", node.url, bad]), /stack id/);
    }
    assert.equal(node.requests.length, 0);
  });
});
