import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { apiErrorStatusByCode } from "../../src/api/index.js";
import { assertBodyFits, BODY_BYTES_MAX_DEFAULT, proposalBytesMax } from "../../src/server/index.js";
import { defaultStackLimits, encodeCommand, errorCodes, httpStatusByCode } from "../../src/stack/index.js";
import fc from "../fast-check.js";

describe("server limits and codes against the stack layer's", () => {
  test("the default body limit carries the largest item and label; a smaller one is refused", () => {
    assertBodyFits(BODY_BYTES_MAX_DEFAULT);
    assert.throws(() => assertBodyFits(defaultStackLimits.itemBytesMax), RangeError);
    assert.throws(() =>
      assertBodyFits(1024, { ...defaultStackLimits, itemBytesMax: 100, labelBytesMax: 2000 }),
    );
  });

  test("a command's log entry stays within proposalBytesMax of the body it came from", () => {
    const item = fc.string({ unit: "grapheme", maxLength: 300 });
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 50 }),
        fc.string({ unit: "binary-ascii", minLength: 1, maxLength: defaultStackLimits.keyBytesMax }),
        fc.constantFrom(1, Number.MAX_SAFE_INTEGER),
        (items, key, id) => {
          const cmd = { type: "push" as const, id, items, key, atMs: Date.now() };
          const bytes = encodeCommand(cmd).length;
          const jsonBody = Buffer.byteLength(JSON.stringify({ items }));
          assert.ok(bytes <= proposalBytesMax(jsonBody), `${bytes} > ${proposalBytesMax(jsonBody)}`);
          const seedBody = Buffer.byteLength(`${id},${items[0]}`);
          const seed = encodeCommand({ ...cmd, items: [items[0]!] }).length;
          assert.ok(seed <= proposalBytesMax(seedBody), `${seed} > ${proposalBytesMax(seedBody)}`);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("every stack error code is an API code with the stack layer's status", () => {
    for (const code of errorCodes) {
      const apiCode = code === "bad_command" ? "bad_request" : code;
      assert.equal(apiErrorStatusByCode[apiCode], httpStatusByCode[code], code);
    }
  });
});
