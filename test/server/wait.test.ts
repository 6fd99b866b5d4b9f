// POST /v1/stacks/{id}/pop?wait=: the blocking pop over HTTP, against a fake node.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { closeApis, FakeService, listenApi } from "./fake-service.js";

const service = new FakeService(1);
after(closeApis);

async function pop(
  url: string,
  query: string,
  key?: string,
  id = 1,
): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/v1/stacks/${id}/pop${query}`, {
    method: "POST",
    headers: key === undefined ? {} : { "idempotency-key": key },
  });
  return { status: res.status, body: await res.text() };
}

test("pop?wait= waits for a push, answers 409 at the deadline, refuses a bad duration", {
  timeout: 20_000,
}, async () => {
  const { url } = await listenApi(service);
  await service.propose({ type: "create", label: "w", atMs: 1 });
  const started = Date.now();
  const waiting = pop(url, "?wait=5s");
  await new Promise((r) => setTimeout(r, 100));
  await service.propose({ type: "push", id: 1, items: ["x"], atMs: 2 });
  assert.deepEqual(await waiting, { status: 200, body: '{"item":"x"}' });
  assert.ok(Date.now() - started < 4000);

  const empty = await pop(url, "?wait=150ms");
  assert.equal(empty.status, 409);
  assert.match(empty.body, /stack_empty/);
  for (const bad of ["0", "-1s", "61s", "soon", "5m"])
    assert.equal((await pop(url, `?wait=${bad}`)).status, 400, bad);

  // Keyed: the empty answer is not remembered, so the same key then pops; a retry gets the same item.
  assert.equal((await pop(url, "?wait=100ms", "kw")).status, 409);
  await service.propose({ type: "push", id: 1, items: ["y", "z"], atMs: 3 });
  assert.deepEqual(await pop(url, "?wait=1s", "kw"), { status: 200, body: '{"item":"z"}' });
  assert.deepEqual(await pop(url, "?wait=1s", "kw"), { status: 200, body: '{"item":"z"}' });
  assert.equal((await service.read((m) => m.top(1))).ok, true, "y is still there");
});

test("pop?wait= on a stack that does not exist answers 404 at once; one deleted while waited on, 404 then", {
  timeout: 20_000,
}, async () => {
  const { url } = await listenApi(service);
  const started = Date.now();
  const missing = await pop(url, "?wait=5s", undefined, 999);
  assert.equal(missing.status, 404);
  assert.match(missing.body, /stack_not_found/);
  assert.ok(Date.now() - started < 4000, "answered before the deadline");

  const created = await service.propose({ type: "create", label: "gone", atMs: 4 });
  assert.ok(created.ok && created.kind === "created");
  const waiting = pop(url, "?wait=5s", undefined, created.id);
  await new Promise((r) => setTimeout(r, 100));
  await service.propose({ type: "delete", id: created.id, atMs: 5 });
  const deleted = await waiting;
  assert.equal(deleted.status, 404);
  assert.match(deleted.body, /stack_not_found/);
  assert.ok(Date.now() - started < 4000, "answered before the deadline");
});
