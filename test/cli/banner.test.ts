// The cluster console's banner: the commands it suggests reach the nodes as started.
import assert from "node:assert/strict";
import { test } from "node:test";
import { banner } from "../../src/cli/cluster-console.js";

const endpoints = ["https://127.0.0.1:12380", "https://127.0.0.1:12383"];

test("under --tls the banner shows the redis-cli flags its Redis ports need; without TLS or RESP, no such line", () => {
  // A newcomer's redis-cli -p 16379 against a --tls cluster got "Server closed the connection".
  const tls = banner(endpoints, "raftstack", "/base/certs", 16379);
  assert.match(tls, /\n {2}redis-cli --tls --cacert \/base\/certs\/ca\.pem -p 16379 LPUSH jobs a {3}#/);
  assert.doesNotMatch(banner(endpoints, "raftstack", "/base/certs"), /redis-cli/, "no RESP listener");
  assert.doesNotMatch(banner(endpoints, "raftstack", undefined, 16379), /--tls/);
});
