import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Router, type RouteSpec } from "../../src/server/routes.js";

const handle = async () => {};
const row = (method: RouteSpec<unknown>["method"], path: string, format: "text" | "json" = "json") => ({
  method,
  path,
  format,
  handle,
});

describe("router", () => {
  test("literal paths, then parameterized ones in table order, with their parameters", () => {
    const router = new Router([
      row("GET", "/a/:x"),
      row("GET", "/a/b"),
      row("POST", "/a/:x/c/:y"),
      row("DELETE", "/a/:x"),
    ]);
    assert.deepEqual(router.match("/a/b")?.params, []);
    assert.deepEqual(router.match("/a/7")?.params, ["7"]);
    assert.deepEqual(router.match("/a/7")?.routes.methods, ["GET", "DELETE"]);
    assert.deepEqual(router.match("/a/7/c/8")?.params, ["7", "8"]);
    for (const miss of ["/a", "/a/", "/a/7/c", "/a/7/c/", "/a/7/c/8/9", "/b/7", "/a//c/8"]) {
      assert.equal(router.match(miss), undefined, miss);
    }
  });

  test("a #name parameter matches digits only, so other segments are no route", () => {
    const router = new Router([row("POST", "/#id"), row("GET", "/v1/x/#id/:name")]);
    assert.deepEqual(router.match("/42")?.params, ["42"]);
    assert.deepEqual(router.match("/v1/x/7/a")?.params, ["7", "a"]);
    for (const miss of ["/nope", "/4a", "/", "/v1/x/a/a", "/v1/x/7"]) {
      assert.equal(router.match(miss), undefined, miss);
    }
  });

  test("a table with a method twice, mixed formats or a malformed path is refused", () => {
    assert.throws(() => new Router([row("GET", "/a"), row("GET", "/a")]), /method twice/);
    assert.throws(() => new Router([row("GET", "/a"), row("POST", "/a", "text")]), /mixes formats/);
    assert.throws(() => new Router([row("GET", "a")]), /bad route path/);
    assert.throws(() => new Router([row("GET", "/a*b")]), /bad route path/);
  });

  test("a dot in a path is literal (/v1/openapi.json), also next to a parameter", () => {
    const router = new Router([row("GET", "/v1/openapi.json"), row("GET", "/f.json/:x")]);
    assert.notEqual(router.match("/v1/openapi.json"), undefined);
    assert.deepEqual(router.match("/f.json/7")?.params, ["7"]);
    assert.equal(router.match("/v1/openapiXjson"), undefined);
    assert.equal(router.match("/fxjson/7"), undefined);
  });
});
