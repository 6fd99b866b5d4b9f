import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Snapshot } from "../../src/raft/index.js";
import {
  BACKUP_HEADER_BYTES,
  BackupError,
  BackupVerifier,
  DiskStorage,
  decodeBackup,
  encodeBackup,
  MemDisk,
  RESTORED_TERM,
  restoreBackup,
} from "../../src/storage/index.js";
import { DATA, restart } from "./helpers.js";

/** 2.5 MiB of data, so the payload spans several of the snapshot file's 1 MiB parts. */
function snapshot(): Snapshot {
  const data = new Uint8Array(2.5 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
  return { meta: { index: 4242, term: 9, config: { voters: [1, 2, 3], learners: [] } }, data };
}

async function backupBytes(s: Snapshot): Promise<Buffer> {
  const b = await encodeBackup(s);
  const bytes = Buffer.concat(b.parts);
  assert.equal(bytes.length, b.totalBytes);
  return bytes;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

function rejectsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof BackupError && err.code === code);
}

describe("backup files", { timeout: 60_000 }, () => {
  test("a backup decodes to the snapshot it was made of, fed whole or in odd pieces", async () => {
    const s = snapshot();
    const bytes = await backupBytes(s);
    const decoded = decodeBackup(bytes);
    assert.deepEqual(decoded.meta, s.meta);
    assert.ok(sameBytes(decoded.data, s.data));
    const v = new BackupVerifier();
    for (let off = 0; off < bytes.length; off += 7777) {
      v.push(bytes.subarray(off, off + 7777));
      if (off + 7777 >= BACKUP_HEADER_BYTES) assert.equal(v.totalBytes, bytes.length);
    }
    assert.match(v.finish(), /^[0-9a-f]{64}$/);
  });

  test("damage anywhere is refused with its code", async () => {
    const bytes = await backupBytes(snapshot());
    const flip = (at: number) => {
      const b = Buffer.from(bytes);
      b[at]! ^= 0x10;
      return b;
    };
    rejectsCode(() => decodeBackup(flip(0)), "bad_magic");
    rejectsCode(() => decodeBackup(flip(4)), "unsupported_version");
    rejectsCode(() => decodeBackup(flip(20)), "checksum_mismatch");
    for (const at of [BACKUP_HEADER_BYTES, BACKUP_HEADER_BYTES + 100_000, bytes.length - 1]) {
      rejectsCode(() => decodeBackup(flip(at)), "checksum_mismatch");
    }
    rejectsCode(() => decodeBackup(bytes.subarray(0, bytes.length - 1)), "truncated");
    rejectsCode(() => decodeBackup(bytes.subarray(0, 10)), "truncated");
    rejectsCode(() => decodeBackup(Buffer.concat([bytes, Buffer.from([0])])), "trailing_bytes");
  });

  test("restore seeds an empty data dir: same index and data, fresh term, the given voters", async () => {
    const disk = new MemDisk();
    const s = snapshot();
    await restoreBackup(disk, DATA, decodeBackup(await backupBytes(s)), [1, 2, 3, 4, 5], 4);
    await assert.rejects(
      restart(disk, DATA, { nodeId: 2 }),
      { code: "node_id_mismatch" },
      "claimed for node 4",
    );
    const storage = await restart(disk, DATA, { nodeId: 4 });
    try {
      const seeded = storage.snapshot();
      assert.deepEqual(seeded.meta, {
        index: 4242,
        term: RESTORED_TERM,
        config: { voters: [1, 2, 3, 4, 5], learners: [] },
      });
      assert.ok(sameBytes(seeded.data, s.data));
      const { hardState } = storage.initialState();
      assert.equal(hardState.term, RESTORED_TERM);
      assert.equal(hardState.vote, 0);
      assert.equal(hardState.commit, 4242);
      assert.equal(storage.lastIndex(), 4242);
    } finally {
      await storage.close();
    }
  });

  test("restore refuses a data dir that holds anything, and writes nothing there", async () => {
    const disk = new MemDisk();
    const other = await DiskStorage.open(disk, DATA);
    await other.save({ hardState: { term: 3, vote: 2, commit: 0 }, entries: [] });
    await other.close();
    const before = disk.paths();
    await assert.rejects(
      restoreBackup(disk, DATA, snapshot(), [1, 2, 3], 1),
      (err: unknown) => err instanceof BackupError && err.code === "data_dir_not_empty",
    );
    assert.deepEqual(disk.paths(), before);
  });
});
