// Access control in process: the token file, every route's role (HTTP and RESP), 401 vs 403, the
// leader proxy passing the token on, reload. The real-process check is test/e2e/security.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Role } from "../../src/api/index.js";
import { RespServer } from "../../src/resp/index.js";
import { TokenAuth, TokenFileError } from "../../src/server/index.js";
import { frame, RawConn } from "../resp/helpers.js";
import { closeApis, FakeService, listenApi, silent } from "./fake-service.js";

const dir = mkdtempSync(join(tmpdir(), "raftstack-auth-"));
export const TOKENS: Readonly<Record<Role, string>> = {
  read: "reader-token-0123456789",
  write: "writer-token-0123456789",
  admin: "admin-token-01234567890",
};
const tokenFile = join(dir, "tokens");
writeFileSync(
  tokenFile,
  `# token role\n${TOKENS.read} read\n\n${TOKENS.write}   write\n${TOKENS.admin} admin\n`,
);

type Who = Role | "none" | "bogus";
const WHO: readonly Who[] = ["none", "bogus", "read", "write", "admin"];
const bearer = (who: Who): Record<string, string> =>
  who === "none" ? {} : { authorization: `Bearer ${who === "bogus" ? "not-a-known-token-xx" : TOKENS[who]}` };

/** Every route with a request that succeeds given the role, and the role it needs. */
const ROUTES: readonly { method: string; path: string; body?: string; need: Role | "none" }[] = [
  { method: "POST", path: "/sCreate", body: "s", need: "write" },
  { method: "PUT", path: "/sId", body: "a", need: "read" },
  { method: "POST", path: "/sPush", body: "1,x", need: "write" },
  { method: "POST", path: "/sTop", body: "1", need: "read" },
  { method: "PUT", path: "/sSize", body: "1", need: "read" },
  { method: "POST", path: "/sPop", body: "1", need: "write" },
  { method: "GET", path: "/v1/stacks", need: "read" },
  { method: "POST", path: "/v1/stacks", body: '{"label":"j"}', need: "write" },
  { method: "GET", path: "/v1/stacks/1", need: "read" },
  { method: "POST", path: "/v1/stacks/1/push", body: '{"item":"a"}', need: "write" },
  { method: "GET", path: "/v1/stacks/1/top", need: "read" },
  { method: "GET", path: "/v1/stacks/1/size", need: "read" },
  { method: "POST", path: "/v1/stacks/1/pop", need: "write" },
  { method: "DELETE", path: "/v1/stacks/2", need: "admin" },
  { method: "GET", path: "/metrics", need: "read" },
  { method: "GET", path: "/v1/cluster", need: "read" },
  { method: "GET", path: "/health", need: "none" },
  { method: "GET", path: "/livez", need: "none" },
  { method: "GET", path: "/readyz", need: "none" },
];

const RANK: Readonly<Record<Who, number>> = { none: -1, bogus: -1, read: 0, write: 1, admin: 2 };
const NEED_RANK: Readonly<Record<Role | "none", number>> = { none: -1, read: 0, write: 1, admin: 2 };

const closers: (() => Promise<void>)[] = [];

/** Sends and waits for an answer matching `pattern`. */
async function expectReply(c: RawConn, bytes: string, pattern: RegExp): Promise<void> {
  const before = c.received.length;
  c.send(bytes);
  await c.until((r) => pattern.test(r.slice(before)));
}

describe("access control", { timeout: 60_000 }, () => {
  after(async () => {
    for (const close of closers) await close();
    await closeApis();
  });

  test("the token file: roles, comments, and refusals that never show a token", () => {
    const auth = new TokenAuth(tokenFile);
    assert.equal(auth.size, 3);
    assert.equal(auth.roleOf(TOKENS.write), "write");
    assert.equal(auth.roleOf(`${TOKENS.write}x`), undefined);
    assert.equal(auth.roleOf(""), undefined);
    const bad = (text: string, code: string) => {
      const f = join(dir, `bad-${code}`);
      writeFileSync(f, text);
      assert.throws(
        () => new TokenAuth(f),
        (e: unknown) => e instanceof TokenFileError && e.code === code && !e.message.includes("secret-token"),
      );
    };
    bad("secret-token-0123456789 superuser\n", "bad_line");
    bad("secret-token-0123456789 read extra\n", "bad_line");
    bad("short read\n", "bad_line");
    bad("# nothing\n", "empty");
    assert.throws(() => new TokenAuth(join(dir, "missing")), TokenFileError);
  });

  test("reload takes new tokens; a bad file keeps the old ones", () => {
    const f = join(dir, "reload");
    writeFileSync(f, `${TOKENS.read} read\n`);
    const auth = new TokenAuth(f);
    writeFileSync(f, `${TOKENS.read} admin\n`);
    assert.equal(auth.reload(), 1);
    assert.equal(auth.roleOf(TOKENS.read), "admin");
    writeFileSync(f, "garbage\n");
    assert.throws(() => auth.reload(), TokenFileError);
    assert.equal(auth.roleOf(TOKENS.read), "admin");
  });

  test("HTTP: each role gets exactly its rights on every route (401 without a token, 403 below the role)", async () => {
    for (const who of WHO) {
      const service = new FakeService(1);
      const { url } = await listenApi(service, { access: new TokenAuth(tokenFile) });
      // Stacks 1 and 2 exist for the requests that need them (created with the admin token).
      for (const label of ["a", "b"]) {
        const r = await fetch(`${url}/sCreate`, { method: "POST", body: label, headers: bearer("admin") });
        assert.equal(r.status, 200);
      }
      for (const body of ["1,seed", "1,seed"]) {
        await fetch(`${url}/sPush`, { method: "POST", body, headers: bearer("admin") });
      }
      for (const r of ROUTES) {
        const res = await fetch(`${url}${r.path}`, {
          method: r.method,
          headers: { ...bearer(who), "content-type": "application/json" },
          ...(r.body === undefined ? {} : { body: r.body }),
        });
        const text = await res.text();
        const where = `${who} ${r.method} ${r.path}: ${res.status} ${text}`;
        if (r.need === "none") assert.equal(res.status, 200, where);
        else if (who === "none" || who === "bogus") assert.equal(res.status, 401, where);
        else if (RANK[who] < NEED_RANK[r.need]) assert.equal(res.status, 403, where);
        else assert.ok(res.status === 200, where);
        if (res.status === 401) assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="raftstack"');
        if (res.status === 401 && r.path.startsWith("/v1/")) {
          assert.equal(JSON.parse(text).error.code, "unauthorized");
        }
      }
      const refused = await (await fetch(`${url}/metrics`, { headers: bearer("read") })).text();
      if (who === "none" || who === "bogus") {
        assert.match(refused, /raftstack_client_refused_total\{listener="http",reason="unauthorized"\} 16/);
      }
    }
  });

  test("a refused request proposes nothing", async () => {
    const service = new FakeService(1);
    const { url } = await listenApi(service, { access: new TokenAuth(tokenFile) });
    for (const who of ["none", "bogus", "read"] as const) {
      const r = await fetch(`${url}/sCreate`, { method: "POST", body: "x", headers: bearer(who) });
      assert.ok(r.status === 401 || r.status === 403);
    }
    assert.equal(service.proposed.length, 0);
  });

  test("RESP: NOAUTH before AUTH, each role's commands, NOPERM below the role", async () => {
    const service = new FakeService(1);
    const server = new RespServer(service, {
      host: "127.0.0.1",
      port: 0,
      logger: silent,
      access: new TokenAuth(tokenFile),
    });
    closers.push(() => server.close());
    const port = await server.listen();
    const c = await RawConn.open(port);
    try {
      await c.roundTrip(frame("LLEN", "k"), "-NOAUTH Authentication required.\r\n");
      await c.roundTrip(frame("PING"), "-NOAUTH Authentication required.\r\n");
      await expectReply(c, frame("AUTH", "wrong-token-0123456789"), /^-WRONGPASS/);
      await c.roundTrip(frame("AUTH", TOKENS.read), "+OK\r\n");
      await c.roundTrip(frame("LLEN", "k"), ":0\r\n");
      await expectReply(c, frame("LPUSH", "k", "a"), /^-NOPERM this command needs the write role/);
      await c.roundTrip(frame("AUTH", "default", TOKENS.write), "+OK\r\n");
      await c.roundTrip(frame("LPUSH", "k", "a"), ":1\r\n");
      await c.roundTrip(frame("ONCE", "key-1", "LPUSH", "k", "b"), ":2\r\n");
      await expectReply(c, frame("DEL", "k"), /^-NOPERM this command needs the admin role/);
      await expectReply(c, frame("HELLO", "2", "AUTH", "default", TOKENS.admin), /^\*14\r\n/);
      await c.roundTrip(frame("DEL", "k"), ":1\r\n");
    } finally {
      c.close();
    }
    assert.equal(service.proposed.filter((p) => p.type === "del").length, 1);
  });
});
