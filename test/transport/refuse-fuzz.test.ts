// REFUSE frames from any peer, fuzzed: the dialler (peer-link.ts) rethrows every error but a FrameError,
// so a malformed frame must decode or throw FrameError, and only a well-formed frame ending in the
// "removed" byte may make a node believe it was removed (node/removal.ts: it then stops serving).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeFrame, encodeRefuseFrame } from "../../src/transport/codec.js";
import { FRAME_HEADER_BYTES, FRAME_REFUSE, FrameError } from "../../src/transport/frame.js";
import fc from "../fast-check.js";

const REMOVED_BYTE = 1;
const reasonBytesMax = 1024;

function payload(frame: Uint8Array): Uint8Array {
  return frame.subarray(FRAME_HEADER_BYTES);
}

/** The decoded refusal, or "error" for a FrameError; anything else thrown fails the property. */
function decodeRefuse(bytes: Uint8Array): { reason: string; code: string | undefined } | "error" {
  try {
    const f = decodeFrame(bytes);
    assert.equal(f.kind, "refuse");
    if (f.kind !== "refuse") return "error";
    return { reason: f.reason, code: f.code };
  } catch (err) {
    if (err instanceof FrameError) return "error";
    throw err;
  }
}

describe("REFUSE frames, fuzzed", () => {
  test("any bytes after the REFUSE code decode or throw FrameError; removed only with the last byte 1", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (rest) => {
        const bytes = Uint8Array.from([FRAME_REFUSE, ...rest]);
        const d = decodeRefuse(bytes);
        if (d !== "error" && d.code === "removed") assert.equal(bytes[bytes.length - 1], REMOVED_BYTE);
        if (d !== "error") assert.ok(d.code === undefined || d.code === "removed");
      }),
      { numRuns: 5_000 },
    );
  });

  test("a removed refusal cut short or with bytes appended never says removed", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.nat(),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        (reason, cut, extra) => {
          const full = payload(encodeRefuseFrame(reason, "removed"));
          const short = full.subarray(0, cut % full.length);
          const shortened = decodeRefuse(short);
          assert.ok(shortened === "error" || shortened.code === undefined, "a truncated frame said removed");
          const longer = decodeRefuse(Uint8Array.from([...full, ...extra]));
          assert.equal(longer, "error", "trailing bytes after the code are refused as a frame error");
        },
      ),
      { numRuns: 2_000 },
    );
  });

  test("encode then decode keeps the reason (cut at 1024 bytes) and the code", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary-ascii", maxLength: 1_500 }),
        fc.constantFrom<"removed" | undefined>("removed", undefined),
        (reason, code) => {
          const d = decodeRefuse(payload(encodeRefuseFrame(reason, code)));
          assert.deepEqual(d, { reason: reason.slice(0, reasonBytesMax), code });
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
