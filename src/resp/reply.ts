/** RESP2 (every client's default) or RESP3 (after `HELLO 3`): they differ in nulls, maps, doubles and booleans. */
export type Protocol = 2 | 3;

/**
 * A reply before it is encoded for the connection's protocol. Strings are JS strings (what the stacks
 * hold); the encoder takes their UTF-8 length.
 */
export type Reply =
  | { readonly t: "simple"; readonly s: string }
  | { readonly t: "error"; readonly s: string }
  | { readonly t: "int"; readonly n: number }
  | { readonly t: "bulk"; readonly s: string }
  /** Null bulk in RESP2 (`$-1`), `_` in RESP3. */
  | { readonly t: "nil" }
  /** Null array in RESP2 (`*-1`), `_` in RESP3: how BLPOP and LPOP with a count say "nothing". */
  | { readonly t: "nilArray" }
  | { readonly t: "array"; readonly items: readonly Reply[] }
  /** A map in RESP3, a flat key/value array in RESP2. */
  | { readonly t: "map"; readonly entries: readonly (readonly [string, Reply])[] }
  /** A verbatim string (`=`) in RESP3 (INFO, as Redis sends it), a bulk string in RESP2. */
  | { readonly t: "verbatim"; readonly s: string };

export const OK: Reply = { t: "simple", s: "OK" };
export const NIL: Reply = { t: "nil" };
export const NIL_ARRAY: Reply = { t: "nilArray" };

export const simple = (s: string): Reply => ({ t: "simple", s });
export const int = (n: number): Reply => ({ t: "int", n });
export const bulk = (s: string): Reply => ({ t: "bulk", s });
export const array = (items: readonly Reply[]): Reply => ({ t: "array", items });
export const bulks = (items: readonly string[]): Reply => ({ t: "array", items: items.map(bulk) });
export const map = (entries: readonly (readonly [string, Reply])[]): Reply => ({ t: "map", entries });

const CRLF = Buffer.from("\r\n", "latin1");

/**
 * A bulk string of any bytes, in wire form (the same in RESP2 and RESP3): ECHO's and PING's answer to a
 * message that is not UTF-8, which a Reply (text, encoded as UTF-8) cannot carry.
 */
export function bulkBytes(b: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`, "latin1"), b, CRLF]);
}

/**
 * Replies in wire form, some of them bytes, joined into one buffer copied once (joining pair by pair
 * copied everything before each reply again: 1023 replies of 64 KiB after one raw ECHO took 38 s).
 */
export function joinWire(parts: readonly (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
}

/** `-CODE message`: the first word is the code clients switch on; no CR or LF may appear in it. */
export function error(code: string, message: string): Reply {
  return { t: "error", s: `${code} ${message}`.replace(/[\r\n]+/g, " ") };
}

/** The reply in the protocol's wire form (a connection joins a flush's replies into one write). */
export function encode(r: Reply, proto: Protocol): string {
  switch (r.t) {
    case "simple":
      return `+${r.s}\r\n`;
    case "error":
      return `-${r.s}\r\n`;
    case "int":
      return `:${r.n}\r\n`;
    case "bulk":
      return `$${Buffer.byteLength(r.s)}\r\n${r.s}\r\n`;
    case "nil":
      return proto === 3 ? "_\r\n" : "$-1\r\n";
    case "nilArray":
      return proto === 3 ? "_\r\n" : "*-1\r\n";
    case "array": {
      let out = `*${r.items.length}\r\n`;
      for (const item of r.items) out += encode(item, proto);
      return out;
    }
    case "map": {
      let out = proto === 3 ? `%${r.entries.length}\r\n` : `*${r.entries.length * 2}\r\n`;
      for (const [k, v] of r.entries) out += encode(bulk(k), proto) + encode(v, proto);
      return out;
    }
    case "verbatim":
      return proto === 3 ? `=${Buffer.byteLength(r.s) + 4}\r\ntxt:${r.s}\r\n` : encode(bulk(r.s), proto);
  }
}
