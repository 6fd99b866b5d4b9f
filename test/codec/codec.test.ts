import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DecodeError,
  decodeUtf8,
  encodeUtf8Into,
  getU64,
  putU64,
  Reader,
  Writer,
} from "../../src/codec/index.js";
import fc from "../fast-check.js";

const safeUint = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.constantFrom(0, 127, 128, 2 ** 31, 2 ** 32, 2 ** 35, 2 ** 49, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);
const notSafeUint = fc.constantFrom(-1, 0.5, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, -0.1, 1e300);

type Field =
  | { kind: "u8"; v: number }
  | { kind: "u32"; v: number }
  | { kind: "u64"; v: number }
  | { kind: "varint"; v: number }
  | { kind: "f64"; v: number }
  | { kind: "bytes"; v: Uint8Array }
  | { kind: "str"; v: string };

const field: fc.Arbitrary<Field> = fc.oneof(
  fc.record({ kind: fc.constant("u8" as const), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("u32" as const), v: fc.integer({ min: 0, max: 0xffffffff }) }),
  fc.record({ kind: fc.constant("u64" as const), v: safeUint }),
  fc.record({ kind: fc.constant("varint" as const), v: safeUint }),
  fc.record({ kind: fc.constant("f64" as const), v: fc.double({ noNaN: true }) }),
  fc.record({ kind: fc.constant("bytes" as const), v: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({
    kind: fc.constant("str" as const),
    v: fc.oneof(fc.string({ unit: "grapheme", maxLength: 100 }), fc.string({ maxLength: 80 })),
  }),
);

function write(w: Writer, f: Field): void {
  switch (f.kind) {
    case "bytes":
      w.bytes(f.v);
      return;
    case "str":
      w.str(f.v);
      return;
    default:
      w[f.kind](f.v);
  }
}

function read(r: Reader, f: Field): unknown {
  return f.kind === "bytes" ? r.bytes() : r[f.kind]();
}

describe("shared binary codec", () => {
  test("every field round-trips, through a growing writer", () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 30 }), fc.integer({ min: 0, max: 16 }), (fields, capacity) => {
        const w = new Writer(capacity);
        for (const f of fields) write(w, f);
        const bytes = w.finish();
        assert.equal(bytes.length, w.length);
        const r = new Reader(bytes);
        for (const f of fields) assert.deepEqual(read(r, f), f.v);
        assert.ok(r.done);
        r.expectEnd();
      }),
      { numRuns: 2000 },
    );
  });

  test("every truncation is a DecodeError", () => {
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 8 }), (fields) => {
        const w = new Writer();
        for (const f of fields) write(w, f);
        const bytes = w.finish();
        for (let n = 0; n < bytes.length; n++) {
          assert.throws(
            () => {
              const r = new Reader(bytes.subarray(0, n));
              for (const f of fields) read(r, f);
              r.expectEnd();
            },
            (e) => e instanceof DecodeError && e.name === "DecodeError",
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  test("numbers that are not non-negative safe integers are refused when written", () => {
    fc.assert(
      fc.property(notSafeUint, (v) => {
        assert.throws(() => new Writer().varint(v), RangeError);
        assert.throws(() => new Writer().u64(v), RangeError);
        assert.throws(() => putU64(new Uint8Array(8), 0, v), RangeError);
      }),
    );
  });

  test("a u64 or varint of 2^53 or more is a DecodeError, not a rounded number", () => {
    const u64 = Uint8Array.from([0, 0, 0, 0, 0, 0, 0x20, 0]);
    assert.throws(
      () => new Reader(u64).u64(),
      (e) => e instanceof DecodeError && e.code === "bad_value",
    );
    assert.throws(() => getU64(u64, 0), DecodeError);
    const max = new Uint8Array(8);
    putU64(max, 0, Number.MAX_SAFE_INTEGER);
    assert.equal(getU64(max, 0), Number.MAX_SAFE_INTEGER);
    // 2^53 as an 8-byte varint.
    const varint = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    assert.throws(
      () => new Reader(varint).varint(),
      (e) => e instanceof DecodeError && e.code === "bad_value",
    );
    const long = new Uint8Array(9).fill(0x80);
    assert.throws(() => new Reader(long).varint(), DecodeError);
  });

  test("strings: limit, strict UTF-8, and codes", () => {
    const w = new Writer();
    w.str("héllo");
    const bytes = w.finish();
    assert.equal(new Reader(bytes).str(6), "héllo");
    // A leading U+FEFF is text: the decoder once dropped it ("\ufeffx" came back as "x").
    for (const s of ["\ufeff", "\ufeffx", "\ufeff\ufeffé", `\ufeff${"y".repeat(100)}`]) {
      const bom = new Writer();
      bom.str(s);
      assert.equal(new Reader(bom.finish()).str(), s);
    }
    assert.throws(
      () => new Reader(bytes).str(5),
      (e) => e instanceof DecodeError && e.code === "too_large",
    );
    const bad = Uint8Array.from([2, 0xc3, 0x28]);
    assert.throws(
      () => new Reader(bad).str(),
      (e) => e instanceof DecodeError && e.code === "bad_value" && e.cause instanceof Error,
    );
    assert.throws(
      () => new Reader(Uint8Array.from([1, 2])).expectEnd(),
      (e) => e instanceof DecodeError && e.code === "trailing_bytes",
    );
  });

  test("a reader over a Buffer range yields plain Uint8Array views of that range", () => {
    const buf = Buffer.from([9, 9, 3, 1, 2, 3, 9]);
    const r = new Reader(buf, 2, 6);
    const b = r.bytes();
    assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
    assert.deepEqual([...b], [1, 2, 3]);
    assert.ok(r.done);
    assert.equal(r.offset, 6);
    assert.throws(
      () => r.u8(),
      (e) => e instanceof DecodeError && e.code === "truncated",
    );
  });

  test("a prefixed run written in place equals bytes(run), at every length-prefix size; truncate takes writes back", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20_000 }), fc.uint8Array({ maxLength: 40 }), (run, before) => {
        const want = new Writer(8);
        want.raw(before);
        want.bytes(run);
        const w = new Writer(8);
        w.raw(before);
        const start = w.beginPrefixed();
        w.raw(run);
        assert.equal(w.endPrefixed(start), run.length);
        assert.deepEqual([...w.finishView()], [...want.finishView()]);
        w.truncate(before.length);
        assert.deepEqual([...w.finishView()], [...before]);
      }),
      { numRuns: 60 },
    );
    assert.throws(() => new Writer(8).truncate(1), RangeError);
  });

  test("lossless: false once a string with a lone surrogate was written, until reset", () => {
    const w = new Writer(8);
    for (const s of ["abc", "é€😀", "x".repeat(300), "\ufeff"]) w.str(s);
    assert.equal(w.lossless, true);
    w.str("a\ud800");
    assert.equal(w.lossless, false);
    w.str("b");
    assert.equal(w.lossless, false);
    w.reset();
    assert.equal(w.lossless, true);
    w.str("\udc00".repeat(200));
    assert.equal(w.lossless, false);
  });

  test("finish copies to an exact size; finishView shares the buffer", () => {
    const target = new Uint8Array(16);
    const w = new Writer(target);
    w.u32(0x01020304);
    const view = w.finishView();
    assert.equal(view.buffer, target.buffer);
    assert.deepEqual([...view], [4, 3, 2, 1]);
    const copy = w.finish();
    assert.notEqual(copy.buffer, target.buffer);
    assert.equal(copy.buffer.byteLength, 4);
  });

  test("encodeUtf8Into writes what TextEncoder does at any length, around the 64-unit hand-coded path", () => {
    const strings = [
      "",
      "a".repeat(64),
      "a".repeat(65),
      `${"a".repeat(64)}é`,
      `${"a".repeat(70)}😀\ufeff€`,
      "😀".repeat(40),
      `x\ud800${"b".repeat(80)}`,
      "z".repeat(65536),
    ];
    for (const s of strings) {
      const buf = new Uint8Array(5 + s.length * 3).fill(0xaa);
      const end = encodeUtf8Into(s, buf, 5);
      const want = new TextEncoder().encode(s);
      assert.deepEqual(buf.subarray(5, end), want);
      assert.equal(buf[4], 0xaa, "nothing written before pos");
      if (!s.includes("\ud800")) assert.equal(decodeUtf8(buf, 5, end), s);
    }
  });
});
