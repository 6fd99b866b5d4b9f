import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { test } from "node:test";
import { freePorts } from "../../src/cli/free-ports.js";

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
}

const portOf = (s: Server) => (s.address() as { port: number }).port;

test("freePorts keeps each free scheme port and replaces only a taken or impossible one", async () => {
  const taken = await listen(0);
  const probe = await listen(0);
  const free = portOf(probe);
  await new Promise<void>((r) => probe.close(() => r()));
  try {
    const [kept, replaced, outOfRange] = await freePorts([free, portOf(taken), 66_379]);
    assert.equal(kept, free);
    assert.notEqual(replaced, portOf(taken));
    assert.ok(outOfRange !== undefined && outOfRange >= 1 && outOfRange <= 65_535);
    assert.equal(new Set([kept, replaced, outOfRange]).size, 3, "three different ports");
  } finally {
    await new Promise<void>((r) => taken.close(() => r()));
  }
});
