// `--endpoints`: URLs, host:port and bare ports.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_ENDPOINTS, parseEndpoints } from "../../src/cli/endpoints.js";

const TEST_TIMEOUT_MS = 10_000;

describe("--endpoints", { timeout: TEST_TIMEOUT_MS }, () => {
  test("accepts URLs, host:port and bare ports", () => {
    assert.deepEqual(parseEndpoints("http://10.0.0.1:8080/, 127.0.0.1:22380,32380,https://n3:8443"), [
      "http://10.0.0.1:8080",
      "http://127.0.0.1:22380",
      "http://127.0.0.1:32380",
      "https://n3:8443",
    ]);
  });

  test("rejects what is not an http(s) URL with a port", () => {
    for (const bad of ["", ",", "https://a", "http://a", "ftp://a:21", "http://a:x"]) {
      assert.throws(() => parseEndpoints(bad), /--endpoints/, bad);
    }
  });

  test("defaults to the five local seed ports", () => {
    assert.deepEqual(
      DEFAULT_ENDPOINTS,
      [12380, 22380, 32380, 42380, 52380].map((p) => `http://127.0.0.1:${p}`),
    );
  });
});
