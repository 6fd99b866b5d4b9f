// `--endpoints`: URLs, host:port and bare ports; a bare entry is https:// when TLS files are given
// (a newcomer's `--endpoints host:port --cacert ca.pem` went to http:// and failed "other side closed").
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_ENDPOINTS, endpointsOf, parseEndpoints } from "../../src/cli/endpoints.js";

describe("--endpoints", { timeout: 10_000 }, () => {
  test("accepts URLs, host:port and bare ports", () => {
    const parsed = parseEndpoints("http://10.0.0.1:8080/, 127.0.0.1:22380,32380,https://n3:8443");
    assert.deepEqual(endpointsOf({ endpoints: parsed }), [
      "http://10.0.0.1:8080",
      "http://127.0.0.1:22380",
      "http://127.0.0.1:32380",
      "https://n3:8443",
    ]);
  });

  test("a bare entry is https:// with --cacert, --cert or --key; a URL keeps its scheme", () => {
    const parsed = parseEndpoints("http://10.0.0.1:8080, n2:22380,32380,https://n3:8443");
    for (const tls of [{ cacert: "ca.pem" }, { cert: "c.pem" }, { key: "k.pem" }]) {
      assert.deepEqual(
        endpointsOf({ endpoints: parsed, ...tls }),
        ["http://10.0.0.1:8080", "https://n2:22380", "https://127.0.0.1:32380", "https://n3:8443"],
        JSON.stringify(tls),
      );
    }
    assert.deepEqual(endpointsOf({ endpoints: parsed, token: "t" }).slice(1, 3), [
      "http://n2:22380",
      "http://127.0.0.1:32380",
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
