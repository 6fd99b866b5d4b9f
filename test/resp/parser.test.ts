import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { defaultRespLimits, type Request, RespParser, RespProtocolError } from "../../src/resp/index.js";
import fc from "../fast-check.js";

const limits = {
  ...defaultRespLimits,
  argsMax: 8,
  bulkBytesMax: 64,
  requestBytesMax: 500,
  inlineBytesMax: 100,
};

function frame(args: readonly string[]): Buffer {
  return Buffer.concat([
    Buffer.from(`*${args.length}\r\n`),
    ...args.map((a) =>
      Buffer.concat([Buffer.from(`$${Buffer.byteLength(a)}\r\n`), Buffer.from(a), Buffer.from("\r\n")]),
    ),
  ]);
}

/** Feeds `bytes` in the given chunk sizes and collects every request; the error if the parser refused. */
function parseAll(
  bytes: Buffer,
  cuts: readonly number[],
): { requests: Request[]; error?: RespProtocolError } {
  const p = new RespParser(limits);
  const requests: Request[] = [];
  let at = 0;
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  try {
    for (const end of [...points, bytes.length]) {
      p.push(bytes.subarray(at, end));
      at = end;
      for (let r = p.next(); r !== undefined; r = p.next()) requests.push(r);
    }
  } catch (err) {
    if (err instanceof RespProtocolError) return { requests, error: err };
    throw err;
  }
  return { requests };
}

// Within the limits above: 12 graphemes can take more than bulkBytesMax bytes (an emoji sequence is ~25),
// and eight such arguments more than requestBytesMax; those are protocol errors, tested below.
const arg = fc
  .string({ unit: "grapheme", maxLength: 12 })
  .filter((a) => Buffer.byteLength(a) <= limits.bulkBytesMax);
const request = fc
  .array(arg, { minLength: 1, maxLength: 8 })
  .filter((args) => frame(args).length <= limits.requestBytesMax);

/** FC_SEED=n replays one fast-check run (a failure prints its seed). */
const seeded = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };

describe("RESP parser", () => {
  test("requests split at any byte boundaries parse to their arguments", () => {
    fc.assert(
      fc.property(
        fc.array(request, { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (reqs, cuts) => {
          const { requests, error } = parseAll(Buffer.concat(reqs.map(frame)), cuts);
          assert.equal(error, undefined);
          assert.deepEqual(
            requests.map((r) => r.args.map((a, i) => (i === 0 ? Buffer.from(a, "latin1").toString() : a))),
            reqs,
          );
        },
      ),
      { numRuns: 500, ...seeded },
    );
  });

  test("any bytes: requests or a RespProtocolError, never another exception", () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      // Mostly valid frames with one byte changed or a piece cut off: the interesting inputs.
      fc.tuple(request, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat()).map(([r, at, byte, cut]) => {
        const b = Buffer.from(frame(r));
        b[at % b.length] = byte;
        return b.subarray(0, b.length - (cut % 4));
      }),
    );
    fc.assert(
      fc.property(junk, fc.array(fc.nat(), { maxLength: 5 }), (bytes, cuts) => {
        parseAll(Buffer.from(bytes), cuts);
      }),
      { numRuns: 3000 },
    );
  });

  test("limits and malformed headers are protocol errors", () => {
    const refused = (text: string) => parseAll(Buffer.from(text), []).error?.message;
    assert.match(refused("*9\r\n") ?? "", /more than 8 arguments/);
    assert.match(refused("*1\r\n$65\r\n") ?? "", /bulk exceeds 64 bytes/);
    assert.match(refused("*1\r\n$-3\r\n") ?? "", /invalid bulk length/);
    assert.match(refused("*x\r\n") ?? "", /invalid multibulk length/);
    assert.match(refused("*1\r\n:1\r\n") ?? "", /expected '\$', got ':'/);
    assert.match(refused("*1\r\n$1\r\nabc\r\n") ?? "", /not terminated by CRLF/);
    assert.match(refused("*1\r\n$1\rx") ?? "", /expected CRLF/);
    assert.match(refused(`*1${"1".repeat(40)}`) ?? "", /too big multibulk count/);
    assert.match(refused("x".repeat(101)) ?? "", /too big inline request/);
    // Eight bulks of 64 bytes: each within bulkBytesMax, together past requestBytesMax.
    assert.match(
      refused(`*8\r\n${`$64\r\n${"a".repeat(64)}\r\n`.repeat(8)}`) ?? "",
      /request exceeds 500 bytes/,
    );
  });

  test("header lines at their 32-byte limit, in every split: waited for, read, or too big exactly as before the JS scan", () => {
    const everySplit = (text: string) => {
      const bytes = Buffer.from(text);
      const results = new Set<string>();
      for (let cut = 0; cut <= bytes.length; cut++) {
        const { requests, error } = parseAll(bytes, [cut]);
        results.add(error === undefined ? JSON.stringify(requests) : error.message);
      }
      assert.equal(results.size, 1, `${JSON.stringify(text)}: ${[...results].join(" | ")}`);
      return [...results][0];
    };
    // 32 bytes of digits after '$' then CRLF is a line (a number too long); 33 without a CR is too big.
    assert.equal(everySplit(`*1\r\n$${"0".repeat(31)}3\r\nabc\r\n`), "invalid bulk length");
    assert.equal(everySplit(`*1\r\n$${"0".repeat(33)}`), "too big bulk length");
    assert.equal(everySplit(`*1\r\n$${"0".repeat(33)}\r\n`), "too big bulk length");
    assert.equal(everySplit(`*${"0".repeat(33)}`), "too big multibulk count");
    // 18 digits is a length; leading zeros count.
    assert.equal(everySplit(`*1\r\n$${"0".repeat(17)}3\r\nabc\r\n`), JSON.stringify([{ args: ["abc"] }]));
    // Still waiting: 32 bytes and no CR, or a CR as the last byte so far.
    assert.deepEqual(parseAll(Buffer.from(`*1\r\n$${"0".repeat(32)}`), []), { requests: [] });
    assert.deepEqual(parseAll(Buffer.from(`*1\r\n$${"0".repeat(31)}3\r`), []), { requests: [] });
    // A lone CR right at the limit's last byte.
    assert.equal(everySplit(`*1\r\n$${"0".repeat(31)}3\rx`), "expected CRLF after bulk length");
  });

  test("inline commands, empty requests and invalid UTF-8", () => {
    const { requests } = parseAll(Buffer.from("PING\r\n\r\n  LPUSH  k a\n*0\r\n*-1\r\n"), []);
    assert.deepEqual(
      requests.map((r) => r.args),
      [["PING"], ["LPUSH", "k", "a"]],
    );
    const bad = parseAll(Buffer.from("*2\r\n$5\r\nLPUSH\r\n$2\r\n\xff\xfe\r\n", "latin1"), []).requests[0];
    assert.equal(bad?.invalid?.arg, 2);
  });

  test("arguments read in place: long and non-ASCII ones deep in a buffer, the first invalid one named", () => {
    const p = new RespParser({ ...limits, bulkBytesMax: 200, requestBytesMax: 1000 });
    const long = "é".repeat(40); // 80 bytes: past the ASCII fast path, through the UTF-8 validator
    const invalid = Buffer.concat([Buffer.from("x".repeat(70)), Buffer.from([0xff])]);
    p.push(
      Buffer.concat([
        frame(["PING", "a".repeat(65)]),
        frame(["LPUSH", long, "ü", "x".repeat(66)]),
        Buffer.from(`*4\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$71\r\n`),
        invalid,
        Buffer.from("\r\n$2\r\n\xfe\xfe\r\n", "latin1"),
      ]),
    );
    assert.deepEqual(p.next(), { args: ["PING", "a".repeat(65)] });
    assert.deepEqual(p.next()?.args, ["LPUSH", long, "ü", "x".repeat(66)]);
    const bad = p.next();
    assert.equal(bad?.invalid?.arg, 3);
    assert.deepEqual(bad?.invalid?.bytes, invalid, "the first invalid argument's bytes, as sent");
    assert.deepEqual(bad?.args.slice(0, 2), ["LPUSH", "k"]);
    assert.equal(p.next(), undefined);
  });
});
