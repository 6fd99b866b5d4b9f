// The rate limit on repeating handshake-refusal warnings (src/transport/log-limit.ts), on a clock the
// test moves: a refusal repeating 27 times a second for a minute is logged 6 times, with the count of
// those not logged, and another peer or reason is logged on its own.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LogLimiter } from "../../src/transport/log-limit.js";

test("a repeating warning is logged first, then once per window with the count suppressed", () => {
  let now = 0;
  const limiter = new LogLimiter(10_000, () => now);
  const logged: (number | undefined)[] = [];
  let total = 0;
  for (; now < 60_000; now += 37) {
    total++;
    const fields = limiter.admit("10.0.0.1 addressed to node 11, this is 1");
    if (fields !== undefined) logged.push(fields.suppressed);
    // Another peer's refusal is not held back by this one's.
    if (now === 37 * 3)
      assert.deepEqual(limiter.admit("10.0.0.2 addressed to node 11, this is 1"), { logEveryMs: 10_000 });
  }
  assert.equal(logged.length, 6, `logged: ${logged.join(",")}`);
  assert.equal(logged[0], undefined, "the first one says nothing was suppressed");
  assert.ok(
    logged.slice(1).every((n) => n !== undefined && n >= 260 && n <= 271),
    `suppressed: ${logged.join(",")}`,
  );
  const suppressedAtEnd = total - logged.length - logged.reduce<number>((n, s) => n + (s ?? 0), 0);
  now += 10_000;
  assert.deepEqual(limiter.admit("10.0.0.1 addressed to node 11, this is 1"), {
    logEveryMs: 10_000,
    suppressed: suppressedAtEnd,
  });
});
