import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { defaultRaftLimits, type Entry } from "../../src/raft/index.js";
import {
  appendMessageBytesMax,
  assertFrameFits,
  defaultTransportLimits,
  encodeMessage,
} from "../../src/transport/index.js";

describe("transport limits against the core's", () => {
  test("the default frame limit covers the core's largest default append", () => {
    assertFrameFits(defaultRaftLimits);
    assert.ok(appendMessageBytesMax(defaultRaftLimits) <= defaultTransportLimits.frameBytesMax);
  });

  test("a frame limit below the largest append, or a single larger entry, is refused", () => {
    const needed = appendMessageBytesMax(defaultRaftLimits);
    assert.throws(() => assertFrameFits(defaultRaftLimits, { frameBytesMax: needed - 1 }), RangeError);
    assertFrameFits(defaultRaftLimits, { frameBytesMax: needed });
    assert.throws(
      () => assertFrameFits(defaultRaftLimits, { entryBytesMax: defaultTransportLimits.frameBytesMax }),
      RangeError,
    );
  });

  test("the bound holds for the widest append: largest numbers, every entry and byte allowed", () => {
    const limits = { appendEntriesMax: 64, appendBytesMax: 64 * 1000 };
    const big = Number.MAX_SAFE_INTEGER - 100;
    const entries: Entry[] = [];
    for (let i = 0; i < limits.appendEntriesMax; i++) {
      entries.push({ term: big, index: big + i, kind: "config", data: new Uint8Array(1000) });
    }
    const bytes = encodeMessage({
      type: "app",
      from: big,
      to: big,
      term: big,
      prevIndex: big,
      prevTerm: big,
      commit: big,
      entries,
    }).length;
    assert.ok(bytes <= appendMessageBytesMax(limits), `${bytes} > ${appendMessageBytesMax(limits)}`);
  });
});
