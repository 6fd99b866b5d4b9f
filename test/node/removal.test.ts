// Removal (node/removal.ts): whose word that this node was removed it believes, and what it does then.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Logger } from "pino";
import type { Driver } from "../../src/node/driver.js";
import { MemberTable } from "../../src/node/members.js";
import { Removal } from "../../src/node/removal.js";
import type { TcpTransport } from "../../src/transport/index.js";

/** Node 1 knowing members 1-3, its links to 2 and 3 up; `applied`: it applied its own removal. */
function node(applied = false) {
  const links = new Set([2, 3]);
  const warned: string[] = [];
  const transport = {
    peerIds: () => [...links],
    removePeer: (id: number) => links.delete(id),
  } as unknown as TcpTransport;
  const members = MemberTable.initial([1, 2, 3].map((id) => ({ id, peerUrl: `http://127.0.0.1:${id}` })));
  const logger = { warn: (_: unknown, msg: string) => warned.push(msg) } as unknown as Logger;
  const removal = new Removal({ removed: applied } as Driver, members, transport, logger);
  return { removal, links, warned };
}

test("a member's word makes the node removed: it warns once and drops every link", () => {
  const { removal, links, warned } = node();
  assert.equal(removal.removed, false);
  removal.refusedBy(2);
  assert.equal(removal.removed, true);
  assert.deepEqual([...links], []);
  removal.refusedBy(3);
  assert.equal(warned.length, 1);
});

test("the word of a node its member table lacks is ignored", () => {
  const { removal, links, warned } = node();
  removal.refusedBy(7);
  assert.equal(removal.removed, false);
  assert.deepEqual([...links], [2, 3]);
  assert.deepEqual(warned, []);
});

test("a node that applied its removal keeps its links for its hand-off (node.ts leaves them later)", () => {
  const { removal, links, warned } = node(true);
  assert.equal(removal.removed, true);
  removal.refusedBy(2);
  assert.deepEqual([...links], [2, 3]);
  assert.deepEqual(warned, []);
});
