// The cluster console's control API (the dashboard's buttons): nothing happens without the printed token
// or from a foreign page; with them, a button becomes a console command. Port 0: no fixed port used.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ControlServer, dashboardUrl, type ProcessState } from "../../src/cli/control.js";

const NODE_ORIGIN = "http://127.0.0.1:19999";
/** A node the console adds later: its page may call the API from then on. */
const ADDED_ORIGIN = "http://127.0.0.1:19989";
const origins = [NODE_ORIGIN];
const commands: string[] = [];
const processes: ProcessState[] = [1, 2, 3].map((id) => ({
  id,
  name: `raftstack${id}`,
  process: "running",
  pid: 1000 + id,
}));
const server = new ControlServer(
  {
    endpoints: [NODE_ORIGIN],
    processes: () => processes,
    command: async (line) => {
      commands.push(line);
      return true;
    },
  },
  { port: 0, allowedOrigins: () => origins },
);
let base = "";

before(async () => {
  base = await server.listen();
});
after(() => server.close());

function call(path: string, headers: Record<string, string>, method = "POST"): Promise<Response> {
  return fetch(`${base}${path}`, { method, headers, signal: AbortSignal.timeout(5000) });
}

test("the printed URL carries the API and the token in its fragment (never sent to the node)", () => {
  const url = new URL(dashboardUrl(NODE_ORIGIN, base, server.token));
  assert.equal(url.origin + url.pathname, `${NODE_ORIGIN}/dashboard`);
  const fragment = new URLSearchParams(url.hash.slice(1));
  assert.equal(fragment.get("control"), base);
  assert.equal(fragment.get("token"), server.token);
  assert.ok(server.token.length >= 22, "128 random bits");
});

test("no token, a wrong token or a foreign origin: refused, nothing run", async () => {
  assert.equal((await call("/control/nodes/2/kill", {})).status, 401);
  assert.equal((await call("/control/nodes/2/kill", { authorization: "Bearer nope" })).status, 401);
  const foreign = await call("/control/nodes/2/kill", {
    authorization: `Bearer ${server.token}`,
    origin: "http://evil.example",
  });
  assert.equal(foreign.status, 403);
  assert.deepEqual(commands, []);
});

test("with the token, from the node's page: the button runs the console command", async () => {
  const auth = { authorization: `Bearer ${server.token}`, origin: NODE_ORIGIN };
  const res = await call("/control/nodes/2/kill", auth);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), NODE_ORIGIN);
  assert.deepEqual(commands, ["kill 2"]);
  assert.equal((await call("/control/nodes/9/kill", auth)).status, 404);
  assert.equal((await call("/control/nodes/2/explode", auth)).status, 404);
  const list = await call("/control/nodes", auth, "GET");
  assert.deepEqual(((await list.json()) as { nodes: ProcessState[] }).nodes, processes);
  assert.deepEqual(commands, ["kill 2"]);
});

test("a node added to the console may call the API from its page once added, a removed one no more", async () => {
  const auth = { authorization: `Bearer ${server.token}`, origin: ADDED_ORIGIN };
  const before = commands.length;
  assert.equal((await call("/control/nodes/1/pause", auth)).status, 403);
  origins.push(ADDED_ORIGIN);
  assert.equal((await call("/control/nodes/1/pause", auth)).status, 200);
  origins.pop();
  assert.equal((await call("/control/nodes/1/pause", auth)).status, 403);
  assert.deepEqual(commands.slice(before), ["pause 1"]);
});
