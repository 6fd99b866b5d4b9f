import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, test } from "node:test";
import { crc32c, crc32cUpdate, MemDisk, NodeDisk } from "../../src/storage/index.js";
import { seededRng } from "./helpers.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

describe("crc32c", { timeout: 10_000 }, () => {
  test("matches the published check values", () => {
    assert.equal(crc32c(bytes("123456789")), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  });

  test("slicing-by-8 matches a bit-at-a-time reference at every length and alignment", () => {
    const reference = (buf: Uint8Array) => {
      let c = 0xffffffff;
      for (const b of buf) {
        c ^= b;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    const data = new Uint8Array(80).map((_, i) => (i * 37 + 11) & 0xff);
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= data.length; end++) {
        const expected = reference(data.subarray(start, end));
        assert.equal(crc32c(data.subarray(start, end)), expected);
        // Continued over two pieces, as a WAL record's header and payload are checksummed.
        const cut = (start + end) >> 1;
        assert.equal(crc32cUpdate(crc32cUpdate(0, data, start, cut), data, cut, end), expected);
      }
    }
  });
});

describe("MemDisk", { timeout: 10_000 }, () => {
  test("a crash drops unsynced bytes and keeps synced ones", async () => {
    const disk = new MemDisk();
    await disk.mkdirp("/d");
    const f = await disk.openWrite("/d/a");
    await f.write(bytes("hello "), 0);
    await f.sync();
    await disk.syncDir("/d");
    await f.write(bytes("world"), 6);
    assert.equal(str(await disk.readFile("/d/a")), "hello world");
    disk.crash();
    assert.equal(str(await disk.readFile("/d/a")), "hello ");
    await assert.rejects(f.write(bytes("x"), 0), { code: "EBADF" });
  });

  test("a torn write keeps a random prefix of the unsynced tail, deterministically per seed", async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const outcome = async () => {
        const disk = new MemDisk();
        await disk.mkdirp("/d");
        const f = await disk.openWrite("/d/a");
        await f.write(bytes("base"), 0);
        await f.sync();
        await disk.syncDir("/d");
        await f.write(bytes("0123456789"), 4);
        disk.crash(seededRng(seed));
        return str(await disk.readFile("/d/a"));
      };
      const first = await outcome();
      assert.equal(await outcome(), first);
      assert.ok("base0123456789".startsWith(first) && first.startsWith("base"), first);
      seen.add(first);
    }
    assert.ok(seen.size > 3, `only ${seen.size} distinct torn lengths`);
  });

  test("an overwrite of synced bytes is undone by a crash", async () => {
    const disk = new MemDisk();
    await disk.mkdirp("/d");
    const f = await disk.openWrite("/d/a");
    await f.write(bytes("abcdef"), 0);
    await f.sync();
    await disk.syncDir("/d");
    await f.truncate(2);
    await f.write(bytes("XY"), 2);
    disk.crash(seededRng(7));
    assert.equal(str(await disk.readFile("/d/a")), "abcdef");
  });

  test("creations and renames without a directory fsync are lost; with one they survive", async () => {
    const disk = new MemDisk();
    await disk.mkdirp("/d");
    const f = await disk.openWrite("/d/new");
    await f.write(bytes("x"), 0);
    await f.sync();
    disk.crash();
    assert.deepEqual(await disk.list("/d"), []);

    const g = await disk.openWrite("/d/tmp");
    await g.write(bytes("v1"), 0);
    await g.sync();
    await disk.syncDir("/d");
    await disk.rename("/d/tmp", "/d/final");
    disk.crash();
    assert.deepEqual(await disk.list("/d"), ["tmp"]);

    await disk.rename("/d/tmp", "/d/final");
    await disk.syncDir("/d");
    disk.crash();
    assert.deepEqual(await disk.list("/d"), ["final"]);
    assert.equal(str(await disk.readFile("/d/final")), "v1");
  });
});

describe("NodeDisk", { timeout: 10_000 }, () => {
  test("mkdirp creates nested directories (relative paths too) and list reports them", async () => {
    const root = await mkdtemp(join(tmpdir(), "raftstack-nodedisk-"));
    try {
      const disk = new NodeDisk();
      await disk.mkdirp(relative(process.cwd(), join(root, "a", "b")));
      await disk.mkdirp(join(root, "a", "b"));
      assert.deepEqual(await disk.list(join(root, "a")), ["b"]);
      assert.deepEqual(await disk.list(join(root, "missing")), []);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

test("MemDisk lists entries of the root directory by name", { timeout: 10_000 }, async () => {
  const disk = new MemDisk();
  await disk.mkdirp("/data/wal");
  assert.deepEqual(await disk.list("/"), ["data"]);
  assert.deepEqual(await disk.list("/data"), ["wal"]);
});
