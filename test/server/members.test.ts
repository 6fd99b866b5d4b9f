// Membership on the client port (issue 11, item 3) against a fake node: raftexample's POST /{id} and
// DELETE /{id}, the JSON routes /v1/members and /v1/leader, their validation and error codes.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { apiErrorStatusByCode } from "../../src/api/index.js";
import { closeApis, FakeService, listenApi } from "./fake-service.js";

async function call(url: string, method: string, body?: string) {
  const res = await fetch(url, { method, body: body ?? null, redirect: "manual" });
  return { status: res.status, text: await res.text() };
}

describe("membership routes", { timeout: 30_000 }, () => {
  after(closeApis);

  test("raftexample: POST /{id} with the peer URL adds, DELETE /{id} removes, 204 each", async () => {
    const service = new FakeService(1);
    const { url } = await listenApi(service);
    const add = await call(`${url}/4`, "POST", "http://127.0.0.1:42379");
    assert.deepEqual([add.status, add.text], [204, ""]);
    assert.deepEqual(service.memberList, [
      { id: 4, peerUrl: "http://127.0.0.1:42379", clientUrl: "", role: "learner" },
    ]);
    const again = await call(`${url}/4`, "POST", "http://127.0.0.1:42379");
    assert.equal(again.status, apiErrorStatusByCode.config_invalid);
    assert.equal((await call(`${url}/4`, "DELETE")).status, 204);
    assert.deepEqual(service.memberList, []);
    // Not an id: no route for any method (GET too: 404, not a 405 of /{id}); a bad URL: 400.
    assert.equal((await call(`${url}/nope`, "POST", "x")).status, 404);
    assert.equal((await call(`${url}/nope`, "GET")).status, 404);
    assert.equal((await call(`${url}/4`, "GET")).status, 405);
    assert.equal((await call(`${url}/5`, "POST", "not a url")).status, 400);
    assert.equal((await call(`${url}/5`, "POST", "http://no-port")).status, 400);
  });

  test("?redirect=1 on a follower: every change answers 307 to the leader and changes nothing", async () => {
    const service = new FakeService(2, 1);
    service.clientUrls.set(1, "http://10.0.0.1:2379");
    const { url } = await listenApi(service);
    const changes: [string, string, string?][] = [
      ["POST", "/4?redirect=1", "http://10.0.0.4:2380"],
      ["DELETE", "/4?redirect=1"],
      ["POST", "/v1/members?redirect=1", JSON.stringify({ peerUrl: "http://10.0.0.4:2380" })],
      ["DELETE", "/v1/members/4?redirect=1"],
      ["POST", "/v1/leader?redirect=1", "{}"],
    ];
    for (const [method, path, body] of changes) {
      const res = await fetch(`${url}${path}`, { method, body: body ?? null, redirect: "manual" });
      assert.equal(res.status, 307, `${method} ${path}`);
      assert.equal(res.headers.get("location"), `http://10.0.0.1:2379${path}`);
    }
    assert.deepEqual(service.memberList, []);
    // A bad request is refused here, before any redirect.
    assert.equal((await call(`${url}/4?redirect=1`, "POST", "not a url")).status, 400);
    // Without ?redirect=1 a follower serves the change (the real node forwards it to the leader).
    assert.equal((await call(`${url}/4`, "POST", "http://10.0.0.4:2380")).status, 204);
  });

  // CI on 50128f8: the console added member 5 through one node, then listed the members through another
  // that had not applied the change yet, and started the next node on the ports of the id it guessed
  // from that stale list. The member list is a read like any other: linearizable (ReadIndex) unless
  // ?stale=1, so a list asked for after an acknowledged change shows it. Failed before: no read made.
  test("GET /v1/members is a linearizable read (ReadIndex), local only with ?stale=1", async () => {
    const service = new FakeService(2, 1);
    const { url } = await listenApi(service);
    assert.equal((await call(`${url}/v1/members`, "GET")).status, 200);
    assert.deepEqual(service.reads, [false]);
    assert.equal((await call(`${url}/v1/members?stale=1`, "GET")).status, 200);
    assert.deepEqual(service.reads, [false, true]);
    service.failWith = "no_leader";
    const noLeader = await call(`${url}/v1/members`, "GET");
    assert.equal(noLeader.status, apiErrorStatusByCode.no_leader);
    assert.equal((await call(`${url}/v1/members?stale=1`, "GET")).status, 200, "stale: the local list");
  });

  test("/v1/members: list, add (id assigned), remove; /v1/leader transfers", async () => {
    const service = new FakeService(1);
    const { url } = await listenApi(service);
    const added = await call(
      `${url}/v1/members`,
      "POST",
      JSON.stringify({ peerUrl: "http://10.0.0.4:7001/", clientUrl: "http://10.0.0.4:8001" }),
    );
    assert.equal(added.status, 200, added.text);
    const member = {
      id: 4,
      peerUrl: "http://10.0.0.4:7001",
      clientUrl: "http://10.0.0.4:8001",
      role: "learner",
    };
    assert.deepEqual(JSON.parse(added.text), member);
    assert.deepEqual(JSON.parse((await call(`${url}/v1/members`, "GET")).text), {
      leader: 1,
      members: [member],
    });
    const leader = await call(`${url}/v1/leader`, "POST", JSON.stringify({ id: 4 }));
    assert.deepEqual(JSON.parse(leader.text), { leader: 4 });
    assert.deepEqual(JSON.parse((await call(`${url}/v1/leader`, "POST")).text), { leader: 4 });
    assert.deepEqual(JSON.parse((await call(`${url}/v1/members/4`, "DELETE")).text), { id: 4 });
    assert.equal((await call(`${url}/v1/members`, "POST", "{}")).status, 400);
    assert.equal((await call(`${url}/v1/members/0`, "DELETE")).status, 400);
    assert.equal((await call(`${url}/v1/leader`, "POST", '{"id":"x"}')).status, 400);
    service.failWith = "config_change_pending";
    const pending = await call(`${url}/v1/members/4`, "DELETE");
    assert.equal(pending.status, 503);
    assert.equal(JSON.parse(pending.text).error.code, "config_change_pending");
  });

  test("a transfer that did not happen: 503 transfer_failed with its reason and Retry-After; other errors carry no reason", async () => {
    const service = new FakeService(1);
    service.transferLeader = async () => {
      // As the node rejects (NodeError): a code and, with transfer_failed, a reason.
      throw Object.assign(new Error("given up before TimeoutNow"), {
        code: "transfer_failed",
        reason: "target_removed",
      });
    };
    const { url } = await listenApi(service);
    const res = await fetch(`${url}/v1/leader`, { method: "POST", body: JSON.stringify({ id: 2 }) });
    assert.equal(res.status, apiErrorStatusByCode.transfer_failed);
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.deepEqual(await res.json(), {
      error: { code: "transfer_failed", message: "given up before TimeoutNow", reason: "target_removed" },
    });
    service.failWith = "config_change_pending";
    const pending = await call(`${url}/v1/members/4`, "DELETE");
    assert.deepEqual(Object.keys(JSON.parse(pending.text).error), ["code", "message"]);
  });
});
