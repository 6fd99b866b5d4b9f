// The HTTP API against a fake node (no Raft, no processes): the route table, the response writer,
// readiness, redirects to the leader and the error table. Servers listen on port 0.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { apiErrorStatusByCode, isApiErrorCode } from "../../src/api/index.js";
import { Contract } from "../api/contract.js";
import { closeApis, FakeService, listenApi } from "./fake-service.js";

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function call(
  url: string,
  method: string,
  body?: string,
  headers?: Record<string, string>,
): Promise<Answer> {
  const res = await fetch(url, { method, body: body ?? null, headers: headers ?? {}, redirect: "manual" });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function jsonError(a: Answer): { code: string; message: string } {
  const parsed = JSON.parse(a.text) as { error: { code: string; message: string } };
  assert.ok(isApiErrorCode(parsed.error.code), `undocumented code ${parsed.error.code}`);
  assert.equal(a.status, apiErrorStatusByCode[parsed.error.code], `status of ${parsed.error.code}`);
  return parsed.error;
}

describe("http api", { timeout: 30_000 }, () => {
  after(closeApis);

  test("seed text routes: bare values, one-line errors, POST and PUT alike", async () => {
    const { url } = await listenApi(new FakeService(1));
    assert.deepEqual((await call(`${url}/sCreate`, "POST", "s")).text, "1");
    assert.equal((await call(`${url}/sPush`, "PUT", "1,a,b")).text, "1");
    assert.equal((await call(`${url}/sPush`, "POST", "1,c")).text, "2");
    assert.equal((await call(`${url}/sTop`, "POST", "1")).text, "c");
    assert.equal((await call(`${url}/sSize`, "POST", " 1 ")).text, "2");
    assert.equal((await call(`${url}/sPop`, "POST", "1")).text, "c");
    assert.equal((await call(`${url}/sPop`, "POST", "1")).text, "a,b");
    assert.equal((await call(`${url}/sId`, "POST", "s")).text, "1");
    const empty = await call(`${url}/sPop`, "POST", "1");
    assert.deepEqual([empty.status, empty.text], [409, "stack is empty\n"]);
    const ok = await call(`${url}/sSize`, "POST", "1");
    assert.equal(ok.headers.get("x-raft-leader"), "1");
    assert.equal(ok.headers.get("x-raft-node"), "1");
    assert.equal(ok.headers.get("content-type"), "text/plain; charset=utf-8");
  });

  test("JSON routes: create, push, top, size, info, list, pop, delete", async () => {
    const { url } = await listenApi(new FakeService(1));
    const json = { "content-type": "application/json" };
    const post = async (path: string, body: object) =>
      JSON.parse((await call(`${url}${path}`, "POST", JSON.stringify(body), json)).text);
    assert.deepEqual(await post("/v1/stacks", { label: "x" }), { id: 1, label: "x" });
    assert.deepEqual(await post("/v1/stacks/1/push", { items: ["a", "b"] }), { size: 2 });
    assert.deepEqual(await post("/v1/stacks/1/push", { item: "c" }), { size: 3 });
    const get = async (path: string) => JSON.parse((await call(`${url}${path}`, "GET")).text);
    assert.deepEqual(await get("/v1/stacks/1/top"), { item: "c" });
    assert.deepEqual(await get("/v1/stacks/1/size"), { size: 3 });
    assert.deepEqual(await get("/v1/stacks/1"), { id: 1, label: "x", size: 3 });
    assert.deepEqual(await get("/v1/stacks?label=x"), { id: 1, label: "x", size: 3 });
    assert.deepEqual(await get("/v1/stacks"), { stacks: [{ id: 1, label: "x", size: 3 }] });
    assert.deepEqual(await post("/v1/stacks/1/pop", {}), { item: "c" });
    assert.deepEqual(JSON.parse((await call(`${url}/v1/stacks/1`, "DELETE")).text), { id: 1 });
    assert.equal(jsonError(await call(`${url}/v1/stacks/1`, "GET")).code, "stack_not_found");
  });

  test("unknown routes and methods: 404 and 405 in the route's format, with Allow", async () => {
    const { url } = await listenApi(new FakeService(1));
    const text404 = await call(`${url}/nope`, "POST", "1");
    assert.deepEqual([text404.status, text404.text], [404, "no route /nope\n"]);
    for (const path of ["/v1/nope", "/v1/stacks/1/bogus", "/v1/stacks/", "/v1/stacks/1/push/x"]) {
      assert.equal(jsonError(await call(`${url}${path}`, "GET")).code, "not_found", path);
    }
    const seed405 = await call(`${url}/sCreate`, "GET");
    assert.deepEqual([seed405.status, seed405.text], [405, "use POST or PUT\n"]);
    assert.equal(seed405.headers.get("allow"), "POST, PUT");
    const json405 = await call(`${url}/v1/stacks`, "PUT", "{}");
    assert.equal(jsonError(json405).code, "method_not_allowed");
    assert.equal(json405.headers.get("allow"), "GET, POST");
    assert.equal((await call(`${url}/v1/stacks/1/push`, "GET")).headers.get("allow"), "POST");
  });

  test("errors carry the documented code with its one status", async () => {
    const { url } = await listenApi(new FakeService(1));
    const json = { "content-type": "application/json" };
    const cases: [string, string, string | undefined, string][] = [
      ["POST", "/v1/stacks", "not json", "bad_request"],
      ["POST", "/v1/stacks", '{"label":""}', "label_invalid"],
      ["POST", "/v1/stacks", JSON.stringify({ label: "x".repeat(300) }), "label_too_large"],
      ["POST", "/v1/stacks", "x".repeat(2 * 1024 * 1024), "body_too_large"],
      ["GET", "/v1/stacks/abc", undefined, "bad_request"],
      ["GET", "/v1/stacks/99/top", undefined, "stack_not_found"],
      ["POST", "/v1/stacks/1/push", '{"items":[]}', "bad_request"],
    ];
    for (const [method, path, body, code] of cases) {
      assert.equal(
        jsonError(await call(`${url}${path}`, method, body, json)).code,
        code,
        `${method} ${path}`,
      );
    }
    // An empty push says what is wrong, not the generic "malformed request".
    const empty = jsonError(await call(`${url}/v1/stacks/1/push`, "POST", '{"items":[]}', json));
    assert.match(empty.message, /"items" must hold at least one item/);
  });

  test("service failures answer 503 with Retry-After and the service's code", async () => {
    const service = new FakeService(1);
    const { url } = await listenApi(service);
    const codes = {
      no_leader: "no_leader",
      not_leader: "no_leader",
      timeout: "timeout",
      stopped: "stopped",
      busy: "busy",
      too_large: "timeout",
    };
    for (const [failure, code] of Object.entries(codes)) {
      service.failWith = failure as keyof typeof codes;
      const a = await call(`${url}/v1/stacks/1/size`, "GET");
      assert.equal(jsonError(a).code, code, failure);
      assert.equal(a.headers.get("retry-after"), "1");
      assert.equal((await call(`${url}/sSize`, "POST", "1")).status, 503);
    }
  });

  test("/livez answers while /readyz waits for a leader and the commit index known at start", async () => {
    const service = new FakeService(2, 0);
    service.commit = 3;
    const { url } = await listenApi(service);
    const live = await call(`${url}/livez`, "GET");
    assert.deepEqual([live.status, JSON.parse(live.text)], [200, { live: true }]);
    const noLeader = await call(`${url}/readyz`, "GET");
    assert.equal(noLeader.status, 503);
    assert.equal(noLeader.headers.get("retry-after"), "1");
    assert.deepEqual(JSON.parse(noLeader.text), {
      ready: false,
      reason: "no leader known",
      leader: 0,
      applied: 0,
      commitAtStart: 3,
    });
    service.leaderId = 1;
    const behind = await call(`${url}/readyz`, "GET");
    assert.equal(behind.status, 503);
    assert.match(JSON.parse(behind.text).reason, /applied 0 of the 3 entries committed at start/);
    for (let i = 1; i <= 3; i++) service.machine.applyNoop(i);
    service.commit = 10; // commits learned after start do not hold readiness back
    const ready = await call(`${url}/readyz`, "GET");
    assert.deepEqual(
      [ready.status, JSON.parse(ready.text)],
      [200, { ready: true, leader: 1, applied: 3, commitAtStart: 3 }],
    );
    assert.equal((await call(`${url}/health`, "GET")).status, 200);
    const metrics = (await call(`${url}/metrics`, "GET")).text;
    assert.ok(metrics.startsWith("# fake metrics\n"), metrics);
    assert.match(metrics, /# TYPE raftstack_client_refused_total counter/);
  });

  test("/readyz of a removed node: not ready for good, the reason says it was removed", async () => {
    // It used to say "no leader known", so an operator waited for a leader that never comes; /health and
    // /v1/cluster said `removed` already.
    const service = new FakeService(2, 0);
    service.removed = true;
    const { url } = await listenApi(service);
    const a = await call(`${url}/readyz`, "GET");
    assert.equal(a.status, 503);
    assert.deepEqual(JSON.parse(a.text), {
      ready: false,
      reason: "this node was removed from the cluster: it serves nothing any more; use another member",
      removed: true,
      leader: 0,
      applied: 0,
      commitAtStart: 0,
    });
    new Contract().checkAnswer("GET", "/readyz", a);
  });

  test("an idempotency key reused for another request: 422 that says so, nothing applied", async () => {
    const { url } = await listenApi(new FakeService(1));
    const key = { "idempotency-key": "k-reused" };
    assert.equal((await call(`${url}/sCreate`, "POST", "s")).text, "1");
    assert.equal((await call(`${url}/sPush`, "POST", "1,a", key)).text, "1");
    assert.equal(
      (await call(`${url}/sPush`, "POST", "1,a", key)).text,
      "1",
      "the retry answers the first outcome",
    );
    // It once answered "malformed request", which sent a newcomer looking for a fault in the body.
    const json = await call(`${url}/v1/stacks/1/push`, "POST", '{"item":"b"}', key);
    assert.deepEqual(jsonError(json), {
      code: "idempotency_key_reused",
      message:
        "this idempotency key was first used for a different request; nothing was applied (use a new key for a new request)",
    });
    const text = await call(`${url}/sPush`, "POST", "1,b", key);
    assert.equal(text.status, 422);
    assert.match(text.text, /^this idempotency key was first used for a different request/);
    assert.equal((await call(`${url}/sSize`, "POST", "1")).text, "1");
  });

  test("a follower's writes go through the service; ?redirect=1 answers 307 to the leader's client URL", async () => {
    const follower = new FakeService(1, 2);
    const { url: followerUrl } = await listenApi(follower);
    const key = { "idempotency-key": "k1" };
    assert.equal((await call(`${followerUrl}/sCreate`, "POST", "s", key)).text, "1");
    assert.equal(follower.proposed[0]?.key, "k1", "the key went along");
    // The leader's client URL is not known yet: the write is served (forwarded by the node) instead.
    assert.equal((await call(`${followerUrl}/sPush?redirect=1`, "POST", "1,a")).text, "1");
    follower.clientUrls.set(2, "http://10.0.0.2:8002");
    const redirect = await call(`${followerUrl}/sPop?redirect=1`, "POST", "1");
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.get("location"), "http://10.0.0.2:8002/sPop?redirect=1");
    const waitPop = await call(`${followerUrl}/v1/stacks/1/pop?wait=1s&redirect=1`, "POST", "{}");
    assert.equal(waitPop.headers.get("location"), "http://10.0.0.2:8002/v1/stacks/1/pop?wait=1s&redirect=1");
    // No leader known: nothing to redirect to.
    follower.leaderId = 0;
    assert.equal(
      jsonError(await call(`${followerUrl}/v1/stacks/1/pop?redirect=1`, "POST", "{}")).code,
      "no_leader",
    );
    // Invalid writes are refused by the follower itself, redirect or not.
    assert.equal((await call(`${followerUrl}/sPush?redirect=1`, "POST", "x,1")).status, 400);
    assert.equal(follower.proposed.length, 2);
  });
});
