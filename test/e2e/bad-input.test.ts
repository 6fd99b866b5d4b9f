// Malformed, oversized and wrong-type requests to every endpoint: documented 4xx, node up, state unchanged.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Cluster, track } from "./harness.js";

interface Case {
  readonly method: string;
  readonly path: string;
  readonly body?: string | Uint8Array;
  readonly headers?: Record<string, string>;
  readonly status: number;
  /** Expected JSON error code (JSON endpoints only). */
  readonly code?: string;
}

const big = (n: number) => "x".repeat(n);
const json = { "content-type": "application/json" };

const cases: Case[] = [
  // Seed text endpoints.
  { method: "POST", path: "/sCreate", body: "", status: 400 },
  { method: "POST", path: "/sCreate", body: big(300), status: 413 },
  { method: "POST", path: "/sCreate", body: new Uint8Array([0xff, 0xfe, 0x41]), status: 400 },
  { method: "POST", path: "/sCreate", body: big(2 * 1024 * 1024), status: 413 },
  { method: "GET", path: "/sCreate", status: 405 },
  { method: "POST", path: "/sId", body: "no-such-label", status: 404 },
  { method: "POST", path: "/sPush", body: "1", status: 400 },
  { method: "POST", path: "/sPush", body: "x,1", status: 400 },
  { method: "POST", path: "/sPush", body: "0,1", status: 400 },
  { method: "POST", path: "/sPush", body: "-1,1", status: 400 },
  { method: "POST", path: "/sPush", body: "1.5,1", status: 400 },
  { method: "POST", path: "/sPush", body: "99999999999999999999,1", status: 400 },
  { method: "POST", path: "/sPush", body: "999,1", status: 404 },
  { method: "POST", path: "/sPush", body: `1,${big(70 * 1024)}`, status: 413 },
  { method: "POST", path: "/sPush", body: "1,a", headers: { "idempotency-key": big(200) }, status: 400 },
  { method: "POST", path: "/sPop", body: "abc", status: 400 },
  { method: "POST", path: "/sPop", body: "999", status: 404 },
  { method: "POST", path: "/sPop", body: "2", status: 409 },
  { method: "POST", path: "/sTop", body: "", status: 400 },
  { method: "POST", path: "/sTop", body: "2", status: 409 },
  { method: "POST", path: "/sTop", body: "999", status: 404 },
  { method: "POST", path: "/sSize", body: "1e3", status: 400 },
  { method: "POST", path: "/sSize", body: "999", status: 404 },
  { method: "POST", path: "/nope", body: "1", status: 404 },
  // JSON API.
  { method: "POST", path: "/v1/stacks", body: "not json", headers: json, status: 400, code: "bad_request" },
  { method: "POST", path: "/v1/stacks", body: "[]", headers: json, status: 400, code: "bad_request" },
  {
    method: "POST",
    path: "/v1/stacks",
    body: '{"label":5}',
    headers: json,
    status: 400,
    code: "bad_request",
  },
  {
    method: "POST",
    path: "/v1/stacks",
    body: '{"label":""}',
    headers: json,
    status: 400,
    code: "label_invalid",
  },
  {
    method: "POST",
    path: "/v1/stacks",
    body: JSON.stringify({ label: big(300) }),
    headers: json,
    status: 413,
    code: "label_too_large",
  },
  {
    method: "POST",
    path: "/v1/stacks",
    body: big(3 * 1024 * 1024),
    headers: json,
    status: 413,
    code: "body_too_large",
  },
  { method: "PUT", path: "/v1/stacks", body: "{}", headers: json, status: 405, code: "method_not_allowed" },
  { method: "GET", path: "/v1/stacks?label=nope", status: 404, code: "stack_not_found" },
  { method: "GET", path: "/v1/stacks/abc", status: 400, code: "bad_request" },
  { method: "GET", path: "/v1/stacks/0", status: 400, code: "bad_request" },
  { method: "GET", path: "/v1/stacks/999", status: 404, code: "stack_not_found" },
  { method: "DELETE", path: "/v1/stacks/999", status: 404, code: "stack_not_found" },
  { method: "POST", path: "/v1/stacks/1/push", body: '{"items":"a"}', headers: json, status: 400 },
  { method: "POST", path: "/v1/stacks/1/push", body: '{"items":[]}', headers: json, status: 400 },
  { method: "POST", path: "/v1/stacks/1/push", body: '{"items":[1]}', headers: json, status: 400 },
  { method: "POST", path: "/v1/stacks/1/push", body: '{"item":null}', headers: json, status: 400 },
  { method: "POST", path: "/v1/stacks/1/push", body: "{", headers: json, status: 400, code: "bad_request" },
  {
    method: "POST",
    path: "/v1/stacks/1/push",
    body: JSON.stringify({ item: big(70 * 1024) }),
    headers: json,
    status: 413,
    code: "item_too_large",
  },
  {
    method: "POST",
    path: "/v1/stacks/1/push",
    body: JSON.stringify({ items: Array.from({ length: 10_001 }, () => "a") }),
    headers: json,
    status: 413,
    code: "too_many_items",
  },
  { method: "POST", path: "/v1/stacks/999/push", body: '{"item":"a"}', headers: json, status: 404 },
  { method: "GET", path: "/v1/stacks/1/push", status: 405, code: "method_not_allowed" },
  { method: "POST", path: "/v1/stacks/2/pop", status: 409, code: "stack_empty" },
  { method: "POST", path: "/v1/stacks/x/pop", status: 400, code: "bad_request" },
  { method: "GET", path: "/v1/stacks/2/top", status: 409, code: "stack_empty" },
  { method: "GET", path: "/v1/stacks/999/size", status: 404, code: "stack_not_found" },
  { method: "GET", path: "/v1/stacks/1/nope", status: 404, code: "not_found" },
  { method: "POST", path: "/health", status: 405 },
];

describe("e2e: bad input", { timeout: 60_000 }, () => {
  const c = track(new Cluster(3, 22000));
  before(() => c.startAll());
  after(() => c.destroy());

  test("every bad request gets its 4xx on leader and follower; state unchanged", async () => {
    const leader = await c.waitLeader();
    const follower = c.ids().find((i) => i !== leader) ?? 1;
    assert.equal((await c.http(leader, "POST", "/sCreate", "one")).body, "1");
    assert.equal((await c.http(leader, "POST", "/sCreate", "two")).body, "2");
    assert.equal((await c.http(leader, "POST", "/sPush", "1,a")).body, "1");
    const before = (await c.http(leader, "GET", "/v1/stacks")).body;
    for (const node of [leader, follower]) {
      for (const k of cases) {
        const a = await c.http(node, k.method, k.path, k.body, k.headers ?? {});
        const what = `${k.method} ${k.path} on node ${node}: ${a.body.slice(0, 120)}`;
        assert.equal(a.status, k.status, what);
        assert.ok(a.headers.get("x-raft-node") === String(node), what);
        assert.ok(a.headers.get("x-raft-leader") !== null, what);
        if (k.code !== undefined) assert.equal(JSON.parse(a.body).error.code, k.code, what);
      }
    }
    for (const i of c.ids()) {
      assert.ok(c.alive(i), `node ${i} still running`);
      assert.equal((await c.http(i, "GET", "/health")).status, 200);
      assert.equal((await c.http(i, "GET", "/v1/stacks")).body, before);
    }
    // A good request still works after all that.
    assert.equal((await c.http(follower, "POST", "/sPush", "1,b")).body, "2");
  });
});
