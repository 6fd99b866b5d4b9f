import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, describe, test } from "node:test";
import { RaftstackClient, RaftstackError, type RaftstackErrorCode } from "../../src/client/index.js";
import { errorAnswer, FakeNode } from "./fake-server.js";

const TEST_TIMEOUT_MS = 10_000;
const nodes: FakeNode[] = [];
const clients: RaftstackClient[] = [];

async function fakes(...handlers: FakeNode["handle"][]): Promise<FakeNode[]> {
  const started = await Promise.all(handlers.map((h, i) => new FakeNode(i + 1, h).start()));
  nodes.push(...started);
  return started;
}

function client(endpoints: string[], extra: Partial<ConstructorParameters<typeof RaftstackClient>[0]> = {}) {
  const c = new RaftstackClient({ endpoints, backoffBaseMs: 1, backoffMaxMs: 5, ...extra });
  clients.push(c);
  return c;
}

/** A port nothing listens on: bind, read the port, close. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function rejectsWith(p: Promise<unknown>, code: string, status?: number): Promise<RaftstackError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RaftstackError, `expected RaftstackError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (status !== undefined) assert.equal(err.status, status);
    return err;
  }
  assert.fail(`expected a ${code} error`);
}

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(nodes.map((n) => n.stop()));
});

describe("RaftstackClient", { timeout: TEST_TIMEOUT_MS }, () => {
  test("a 503 is retried on another endpoint with the same Idempotency-Key", async () => {
    const [a, b] = await fakes(
      () => errorAnswer(503, "no_leader"),
      () => ({ status: 200, json: { size: 2 } }),
    );
    const c = client([a!.url, b!.url]);
    assert.equal(await c.push(7, ["x", "y"]), 2);
    assert.equal(a!.requests.length, 1);
    assert.equal(b!.requests.length, 1);
    const key = a!.requests[0]!.key;
    assert.ok(key !== undefined && key.length > 0);
    assert.equal(b!.requests[0]!.key, key);
    assert.equal(b!.requests[0]!.url, "/v1/stacks/7/push");
    assert.deepEqual(JSON.parse(b!.requests[0]!.body), { items: ["x", "y"] });
    // The next write is a different operation and gets its own key; it goes to the node that answered.
    assert.equal(await c.push(7, "z"), 2);
    assert.equal(a!.requests.length, 1);
    assert.notEqual(b!.requests[1]!.key, key);
    assert.deepEqual(JSON.parse(b!.requests[1]!.body), { item: "z" });
  });

  test("timeouts and refused connections are retried; the same key reaches the node that answers", async () => {
    const [hanging, good] = await fakes(
      () => ({ status: 0, hang: true }),
      () => ({ status: 200, json: { item: "top" } }),
    );
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const c = client([dead, hanging!.url, good!.url], { timeoutMs: 150 });
    assert.equal(await c.pop(3), "top");
    assert.equal(hanging!.requests.length, 1);
    assert.equal(good!.requests[0]!.key, hanging!.requests[0]!.key);
    assert.equal(good!.requests[0]!.method, "POST");
  });

  test("reads carry no Idempotency-Key", async () => {
    const [a] = await fakes(() => ({ status: 200, json: { size: 4 } }));
    assert.equal(await client([a!.url]).size(1), 4);
    assert.equal(a!.requests[0]!.key, undefined);
    assert.equal(a!.requests[0]!.method, "GET");
  });

  test("the overall deadline bounds a call against nodes that never answer", async () => {
    const [a, b] = await fakes(
      () => ({ status: 0, hang: true }),
      () => ({ status: 0, hang: true }),
    );
    const c = client([a!.url, b!.url], { timeoutMs: 100, deadlineMs: 350, retries: 100 });
    const started = performance.now();
    const err = await rejectsWith(c.createStack("s"), "deadline_exceeded", 0);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 300 && elapsed < 2000, `elapsed ${elapsed} ms`);
    assert.match(err.message, /outcome unknown/);
    // Every attempt carried the one key.
    const keys = new Set([...a!.requests, ...b!.requests].map((r) => r.key));
    assert.equal(keys.size, 1);
    assert.ok(a!.requests.length + b!.requests.length >= 3);
  });

  test("running out of retries surfaces as unavailable with the last status", async () => {
    const [a, b] = await fakes(
      () => errorAnswer(503, "no_leader"),
      () => errorAnswer(503, "no_leader"),
    );
    const c = client([a!.url, b!.url], { retries: 3 });
    const err = await rejectsWith(c.top(1), "unavailable", 503);
    assert.equal(a!.requests.length + b!.requests.length, 4);
    assert.ok(err.cause instanceof RaftstackError && err.cause.code === "no_leader");
  });

  test("a node's own answer is reported over a later attempt's connection error", async () => {
    const [a] = await fakes(() => errorAnswer(503, "no_leader"));
    const dead = `http://127.0.0.1:${await deadPort()}`;
    const c = client([a!.url, dead], { retries: 1 });
    const err = await rejectsWith(c.push(1, "q2"), "unavailable", 503);
    assert.equal(a!.requests.length, 1);
    assert.ok(err.cause instanceof RaftstackError && err.cause.code === "no_leader", err.message);
    assert.doesNotMatch(err.message, /ECONNREFUSED/);
  });

  test("the leader named in X-Raft-Leader is preferred once its endpoint is known", async () => {
    const members = (urls: string[]) =>
      urls.map((u, i) => ({ id: i + 1, peerUrl: `http://127.0.0.1:${i + 1}`, clientUrl: u }));
    const urls: string[] = [];
    const view = (id: number) => () => ({
      status: 200,
      json: { id, leader: 3, term: 2, members: members(urls), commit: 5, applied: 5 },
      headers: { "x-raft-leader": "3" },
    });
    const [a, b, leader] = await fakes(view(1), view(2), view(3));
    urls.push(a!.url, b!.url, leader!.url);
    const c = client(urls);
    await c.cluster();
    assert.equal(a!.requests.length, 1);
    assert.equal(c.preferredEndpoint, leader!.url);
    leader!.handle = () => ({ status: 200, json: { size: 1 }, headers: { "x-raft-leader": "3" } });
    await c.push(1, "v");
    await c.size(1);
    assert.equal(a!.requests.length, 1);
    assert.equal(b!.requests.length, 0);
    assert.equal(leader!.requests.length, 2);
  });

  test("a 503 naming a known leader sends the retry to that leader", async () => {
    const health = { status: 200, json: { ok: true, leader: 0, role: "follower", term: 1 } };
    const [a, b, c3] = await fakes(
      () => health,
      () => health,
      () => health,
    );
    const c = client([a!.url, b!.url, c3!.url]);
    // Each answer's X-Raft-Node teaches the client which endpoint is which node; a answers last.
    for (const n of [b!, c3!, a!]) await c.health({ endpoint: n.url });
    assert.equal(c.preferredEndpoint, a!.url);
    a!.handle = () => errorAnswer(503, "no_leader", 3);
    b!.handle = () => ({ status: 200, json: { size: 1 } });
    c3!.handle = () => ({ status: 200, json: { size: 9 }, headers: { "x-raft-leader": "3" } });
    assert.equal(await c.size(1), 9);
    assert.equal(b!.requests.length, 1, "round robin would have asked b");
    assert.equal(c.preferredEndpoint, c3!.url);
  });

  test("definite errors are not retried and keep the server's code and status", async () => {
    const cases: Array<[number, string]> = [
      [409, "stack_empty"],
      [404, "stack_not_found"],
      [400, "bad_request"],
      [413, "item_too_large"],
    ];
    for (const [status, code] of cases) {
      const [a, b] = await fakes(
        () => errorAnswer(status, code),
        () => ({ status: 200, json: { item: "never" } }),
      );
      const err = await rejectsWith(client([a!.url, b!.url]).pop(1), code, status);
      assert.equal(err.message, code);
      assert.equal(a!.requests.length, 1);
      assert.equal(b!.requests.length, 0);
    }
  });

  test("stackId answers undefined for an unknown label and the id for a known one", async () => {
    const [a] = await fakes((r) =>
      r.url === "/v1/stacks?label=a%20b"
        ? { status: 200, json: { id: 4, label: "a b", size: 0 } }
        : errorAnswer(404, "stack_not_found"),
    );
    const c = client([a!.url]);
    assert.equal(await c.stackId("a b"), 4);
    assert.equal(await c.stackId("missing"), undefined);
  });

  test("listStacks, deleteStack and health parse their answers", async () => {
    const [a] = await fakes((r) => {
      if (r.url === "/v1/stacks" && r.method === "GET") {
        return { status: 200, json: { stacks: [{ id: 1, label: "x", size: 3 }] } };
      }
      if (r.url === "/v1/stacks/1" && r.method === "DELETE") return { status: 200, json: { id: 1 } };
      return { status: 503, json: { ok: false, leader: 0, role: "candidate", term: 4 } };
    });
    const c = client([a!.url], { retries: 0 });
    assert.deepEqual(await c.listStacks(), [{ id: 1, label: "x", size: 3 }]);
    await c.deleteStack(1);
    assert.ok(a!.requests[1]!.key !== undefined);
    // Pinned to one node, health returns the node's view even when it knows no leader.
    assert.deepEqual(await c.health({ endpoint: a!.url }), {
      ok: false,
      leader: 0,
      role: "candidate",
      term: 4,
    });
    await rejectsWith(c.health(), "unavailable", 503);
  });

  test("a malformed answer is a bad_response error", async () => {
    const [a] = await fakes(() => ({ status: 200, json: { size: "three" } }));
    await rejectsWith(client([a!.url]).size(1), "bad_response");
  });
});

describe("RaftstackClient per-call options", { timeout: TEST_TIMEOUT_MS }, () => {
  test("an AbortSignal ends a call in flight and its backoff, with code aborted", async () => {
    const [hang] = await fakes(() => ({ status: 200, hang: true }));
    // Far longer than the test's wait: only the signal can end the call this soon.
    const c = client([hang!.url], { timeoutMs: 60_000, deadlineMs: 120_000 });
    const started = performance.now();
    const err = await rejectsWith(c.push(1, "x", { signal: AbortSignal.timeout(100) }), "aborted", 0);
    assert.ok(performance.now() - started < 5000, "ended by the signal, not a timeout");
    assert.match(err.message, /outcome unknown/);

    const [busy] = await fakes(() => errorAnswer(503, "no_leader"));
    const slow = client([busy!.url], { backoffBaseMs: 30_000, backoffMaxMs: 30_000, deadlineMs: 120_000 });
    await rejectsWith(slow.size(1, { signal: AbortSignal.timeout(200) }), "aborted");
    assert.equal(busy!.requests.length, 1, "no attempt after the abort");

    const controller = new AbortController();
    controller.abort();
    await rejectsWith(client([busy!.url]).top(1, { signal: controller.signal }), "aborted");
    assert.equal(busy!.requests.length, 1, "an aborted signal sends nothing");
  });

  test("a caller's idempotency key goes with every attempt, and a retried call reuses it", async () => {
    let calls = 0;
    const [a, b] = await fakes(
      () => errorAnswer(503, "timeout"),
      () => (++calls === 1 ? errorAnswer(503, "timeout") : { status: 200, json: { size: 1 } }),
    );
    const c = client([a!.url, b!.url], { retries: 1 });
    await rejectsWith(c.push(4, "job", { idempotencyKey: "job-17" }), "unavailable");
    assert.equal(await c.push(4, "job", { idempotencyKey: "job-17" }), 1);
    const keys = [...a!.requests, ...b!.requests].map((r) => r.key);
    assert.ok(keys.length >= 3);
    assert.deepEqual(new Set(keys), new Set(["job-17"]));
    await c.pop(4, { idempotencyKey: "pop-1" }).catch(() => {});
    await c.createStack("l", { idempotencyKey: "create-1" }).catch(() => {});
    await c.deleteStack(4, { idempotencyKey: "delete-1" }).catch(() => {});
    const later = [...a!.requests, ...b!.requests].map((r) => r.key);
    for (const key of ["pop-1", "create-1", "delete-1"]) assert.ok(later.includes(key), key);
  });

  test("stale reads ask for ?stale=1; the default reads are linearizable", async () => {
    const [a] = await fakes((r) => {
      if (r.url.startsWith("/v1/stacks?label=")) return { status: 200, json: { id: 2 } };
      if (r.url.startsWith("/v1/stacks/2/top")) return { status: 200, json: { item: "x" } };
      if (r.url.startsWith("/v1/stacks/2/size")) return { status: 200, json: { size: 1 } };
      return { status: 200, json: { stacks: [] } };
    });
    const c = client([a!.url]);
    await c.top(2, { stale: true });
    await c.size(2, { stale: true });
    await c.listStacks({ stale: true });
    await c.stackId("a b", { stale: true });
    await c.top(2);
    await c.stackId("a b");
    assert.deepEqual(
      a!.requests.map((r) => r.url),
      [
        "/v1/stacks/2/top?stale=1",
        "/v1/stacks/2/size?stale=1",
        "/v1/stacks?stale=1",
        "/v1/stacks?label=a%20b&stale=1",
        "/v1/stacks/2/top",
        "/v1/stacks?label=a%20b",
      ],
    );
  });

  test("error codes are typed as the documented union, and unknown codes are not passed off as known", async () => {
    const documented: RaftstackErrorCode[] = [
      "stack_empty",
      "idempotency_key_reused",
      "unavailable",
      "aborted",
      "http_502",
    ];
    // @ts-expect-error a misspelled code is a compile error (the build fails if code were a plain string)
    const misspelled: RaftstackErrorCode = "stack_emtpy";
    assert.equal(documented.length + misspelled.length > 0, true);
    const [a] = await fakes((r) =>
      r.url.endsWith("/top") ? errorAnswer(409, "stack_empty") : errorAnswer(409, "brand_new_code"),
    );
    const c = client([a!.url]);
    const known = await rejectsWith(c.top(1), "stack_empty", 409);
    const code: RaftstackErrorCode = known.code;
    assert.equal(code, "stack_empty");
    const unknown = await rejectsWith(c.size(1), "http_409", 409);
    assert.match(unknown.message, /brand_new_code/);
  });

  test("a failed transfer is transfer_failed with its reason, asked once: never retried on another node", async () => {
    const failed = (reason: string) => ({
      status: 503,
      json: { error: { code: "transfer_failed", message: `given up (${reason})`, reason } },
    });
    const [a, b] = await fakes(
      () => failed("target_unreachable"),
      () => ({ status: 200, json: { leader: 3 } }),
    );
    const err = await rejectsWith(client([a!.url, b!.url]).transferLeader(3), "transfer_failed", 503);
    assert.equal(err.reason, "target_unreachable");
    assert.equal(b!.requests.length, 0, "not retried elsewhere");
    // A reason this client does not know (a newer server) is left out, the code kept.
    a!.handle = () => failed("target_on_fire");
    const newer = await rejectsWith(client([a!.url]).transferLeader(3), "transfer_failed", 503);
    assert.equal(newer.reason, undefined);
    assert.match(newer.message, /target_on_fire/);
  });
});

/** Ports of this block nothing listens on (27800-27899 belong to it), so every connection is refused. */
const REFUSING = ["http://127.0.0.1:27851", "http://127.0.0.1:27852", "http://127.0.0.1:27853"];

describe("RaftstackClient: a write no node received", { timeout: TEST_TIMEOUT_MS }, () => {
  test("every endpoint refused the connection: unavailable, outcome not_applied, and the message says so", async () => {
    const err = await rejectsWith(client(REFUSING, { retries: 4 }).push(1, "x"), "unavailable", 0);
    assert.equal(err.outcome, "not_applied");
    assert.match(err.message, /\(not applied: no node accepted the connection\)$/);
    assert.doesNotMatch(err.message, /outcome unknown/);
    // Membership changes (no idempotency key) too.
    const add = await rejectsWith(client(REFUSING, { retries: 2 }).addMember("http://x:1"), "unavailable", 0);
    assert.equal(add.outcome, "not_applied");
  });

  test("the deadline or the caller's signal after refused connections only: not applied either", async () => {
    const slow = client(REFUSING, { backoffBaseMs: 5000, backoffMaxMs: 5000, deadlineMs: 300, retries: 5 });
    const late = await rejectsWith(slow.createStack("s"), "deadline_exceeded", 0);
    assert.equal(late.outcome, "not_applied");
    assert.match(late.message, /not applied/);
    const waiting = client(REFUSING, { backoffBaseMs: 5000, backoffMaxMs: 5000, deadlineMs: 60_000 });
    const aborted = await rejectsWith(waiting.pop(1, { signal: AbortSignal.timeout(200) }), "aborted", 0);
    assert.equal(aborted.outcome, "not_applied");
  });

  test("one attempt that reached a node (an answer, a timeout) keeps the outcome unknown; reads carry none", async () => {
    const [busy, hang] = await fakes(
      () => errorAnswer(503, "timeout"),
      () => ({ status: 0, hang: true }),
    );
    for (const reached of [busy!.url, hang!.url]) {
      const c = client([REFUSING[0]!, reached], { retries: 3, timeoutMs: 100 });
      const err = await rejectsWith(c.push(1, "x"), "unavailable");
      assert.equal(err.outcome, "unknown", reached);
      assert.match(err.message, /outcome unknown/);
    }
    const read = await rejectsWith(client(REFUSING, { retries: 1 }).size(1), "unavailable", 0);
    assert.equal(read.outcome, undefined);
  });
});
