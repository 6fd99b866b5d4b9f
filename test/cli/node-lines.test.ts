// How the cluster console shows node output (src/cli/node-lines.ts): every line under the node's name with
// a UTC time as pino-pretty prints it (HH:MM:ss.mmm). Plain lines (stderr: a crash's stack, a shutdown
// notice) once had no time at all.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { NodeLines, utcTime } from "../../src/cli/node-lines.js";

// 2026-11-30T17:42:30.297Z and, for lines that carry no time, the console's clock at 23:59:59.005.
const LOGGED_MS = Date.UTC(2026, 10, 30, 17, 42, 30, 297);
const READ_MS = Date.UTC(2026, 10, 30, 23, 59, 59, 5);
const record = (fields: object) =>
  JSON.stringify({ level: 30, pid: 7, hostname: "h", node: 2, msg: "node 2 is leader in term 1", ...fields });

// Far from UTC: a time printed in the local zone would show.
let zone: string | undefined;
before(() => {
  zone = process.env.TZ;
  process.env.TZ = "Pacific/Kiritimati";
});
after(() => {
  if (zone === undefined) delete process.env.TZ;
  else process.env.TZ = zone;
});

test("utcTime: HH:MM:ss.mmm in UTC", () => {
  assert.equal(utcTime(LOGGED_MS), "17:42:30.297");
  assert.equal(utcTime(READ_MS), "23:59:59.005");
});

test("every node line carries a UTC time after the node's name", () => {
  const lines = new NodeLines(false, () => READ_MS);
  const at = (line: string) => lines.format(2, "raftstack2", 11, line);
  // A pino record at the time it was logged, on one line, without pid/hostname/node.
  assert.equal(
    at(record({ time: LOGGED_MS, term: 1 })),
    'raftstack2  | [17:42:30.297] INFO: node 2 is leader in term 1 {"term":1}\n',
  );
  // Other lines at the time the console read them.
  assert.equal(
    at("raftstack: SIGTERM, shutting down node 2"),
    "raftstack2  | [23:59:59.005] raftstack: SIGTERM, shutting down node 2\n",
  );
  assert.equal(
    at("    at Driver.tick (file:///x.js:1:2)"),
    "raftstack2  | [23:59:59.005]     at Driver.tick (file:///x.js:1:2)\n",
  );
  assert.equal(at("{not json"), "raftstack2  | [23:59:59.005] {not json\n");
  assert.equal(at(record({})), "raftstack2  | [23:59:59.005] INFO: node 2 is leader in term 1\n");
  // pino-pretty puts an error's fields on lines of their own: each carries the name and the record's time.
  assert.equal(
    at(record({ time: LOGGED_MS, level: 40, msg: "peer connection lost", err: "closed by the peer" })),
    'raftstack2  | [17:42:30.297] WARN: peer connection lost\nraftstack2  | [17:42:30.297]     err: "closed by the peer"\n',
  );
  const stack = at(
    record({
      time: LOGGED_MS,
      level: 50,
      msg: "failed",
      err: { type: "Error", message: "boom", stack: "Error: boom\n    at a (x.js:1:1)" },
    }),
  ).split("\n");
  assert.ok(stack.length > 4, stack.join("\n"));
  for (const l of stack.slice(0, -1)) assert.ok(l.startsWith("raftstack2  | [17:42:30.297] "), l);
});

test("colours: the name prefix in the node's colour, the time and text as pino-pretty colours them", () => {
  const lines = new NodeLines(true, () => READ_MS);
  assert.equal(
    lines.format(1, "raftstack1", 10, "plain"),
    "\x1b[36mraftstack1 | \x1b[0m[23:59:59.005] plain\n",
  );
  const pretty = lines.format(11, "raftstack11", 11, record({ time: LOGGED_MS }));
  assert.ok(pretty.startsWith("\x1b[36mraftstack11 | \x1b[0m"), JSON.stringify(pretty));
  assert.match(pretty, /17:42:30\.297/);
  assert.ok(pretty.includes("\x1b[32mINFO"), JSON.stringify(pretty));
});
