import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { writeFileAtomically } from "../../src/storage/disk.js";
import {
  DiskStorage,
  MemDisk,
  NODE_ID_FILE,
  NodeIdMismatchError,
  StorageError,
} from "../../src/storage/index.js";
import { decodeNodeIdFile, encodeNodeIdFile } from "../../src/storage/node-id-file.js";
import { CONFIG, CrashAtDisk, DATA, ents, FaultDisk, InjectedCrash, restart, seededRng } from "./helpers.js";

const FILE = `${DATA}/${NODE_ID_FILE}`;

function infoLogger() {
  const infos: { fields: object; msg: string }[] = [];
  return {
    infos,
    logger: { info: (fields: object, msg: string) => infos.push({ fields, msg }), warn: () => {} },
  };
}

async function ownerOf(disk: MemDisk): Promise<number | "none" | "damaged"> {
  if (!disk.paths().includes(FILE)) return "none";
  const decoded = decodeNodeIdFile(await disk.readFile(FILE));
  return decoded.ok ? decoded.id : "damaged";
}

/** A data dir with Raft state (a vote and entries) made by node 1. */
async function dirOfNode1(disk: MemDisk, nodeId?: number): Promise<void> {
  const s = await DiskStorage.open(disk, DATA, {
    bootstrapConfig: CONFIG,
    ...(nodeId === undefined ? {} : { nodeId }),
  });
  await s.save({ hardState: { term: 5, vote: 1, commit: 0 }, entries: ents(1, 3, 5) });
  await s.close();
}

describe("node-id file format", () => {
  test("round-trips every id, one text line with its checksum", () => {
    for (const id of [1, 2, 10, 4242, Number.MAX_SAFE_INTEGER]) {
      const bytes = encodeNodeIdFile(id);
      assert.match(
        Buffer.from(bytes).toString(),
        new RegExp(`^raftstack node-id ${id} crc32c [0-9a-f]{8}\\n$`),
      );
      assert.deepEqual(decodeNodeIdFile(bytes), { ok: true, id });
    }
  });

  test("refuses anything but exactly the line it writes", () => {
    const good = Buffer.from(encodeNodeIdFile(12)).toString();
    const crc = good.split(" ")[3]!.trim();
    const bad = [
      "",
      "12\n",
      good.slice(0, -1), // no newline
      `${good}\n`,
      good.replace("\n", "\r\n"),
      ` ${good}`,
      good.replace("12", "13"), // checksum no longer matches
      good.replace("12", "012"),
      good.replace(crc, crc.toUpperCase() === crc ? "00000000" : crc.toUpperCase()),
      `raftstack node-id 0 crc32c ${crc}\n`,
      `raftstack node-id 99999999999999999 crc32c ${crc}\n`,
      "x".repeat(1000),
    ];
    for (const text of bad) {
      const decoded = decodeNodeIdFile(Buffer.from(text));
      assert.equal(decoded.ok, false, JSON.stringify(text));
    }
    // Each flipped bit of the valid line is caught.
    const bytes = Buffer.from(good);
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const flipped = Buffer.from(bytes);
        flipped[i] = flipped[i]! ^ (1 << bit);
        const decoded = decodeNodeIdFile(flipped);
        assert.ok(!decoded.ok || decoded.id !== 12, `byte ${i} bit ${bit}`);
        assert.equal(decoded.ok, false, `byte ${i} bit ${bit}`);
      }
    }
  });
});

describe("DiskStorage.open with nodeId", () => {
  test("a fresh data dir is claimed for the node, silently", async () => {
    const disk = new MemDisk();
    const { infos, logger } = infoLogger();
    const s = await DiskStorage.open(disk, DATA, { nodeId: 3, logger });
    await s.close();
    assert.equal(await ownerOf(disk), 3);
    assert.deepEqual(infos, []);
    assert.ok(!disk.paths().some((p) => p.endsWith(".tmp")), disk.paths().join(", "));
  });

  test("the same id opens its data dir again and leaves the file as it was", async () => {
    const disk = new MemDisk();
    await dirOfNode1(disk, 1);
    const before = await disk.readFile(FILE);
    const s = await restart(disk, DATA, { nodeId: 1 });
    assert.equal(s.initialState().hardState.vote, 1);
    assert.equal(s.lastIndex(), 3);
    await s.close();
    assert.deepEqual(await disk.readFile(FILE), before);
  });

  test("another id is refused with node_id_mismatch naming both ids and the dir, before any state is read", async () => {
    const disk = new MemDisk();
    await dirOfNode1(disk, 1);
    // Damage the WAL: a refusal that read Raft state would report wal_corrupt instead.
    const wal = disk.paths().find((p) => p.startsWith(`${DATA}/wal/`))!;
    const bytes = await disk.readFile(wal);
    disk.setFile(
      wal,
      bytes.map((b, i) => (i === 20 ? b ^ 0xff : b)),
    );
    const before = disk.paths();
    const err = await restart(disk, DATA, { nodeId: 2 }).then(
      () => assert.fail("opened node 1's data dir as node 2"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NodeIdMismatchError);
    assert.ok(err instanceof StorageError);
    assert.equal(err.code, "node_id_mismatch");
    assert.equal(err.name, "NodeIdMismatchError");
    assert.equal(err.claimedBy, 1);
    assert.equal(err.nodeId, 2);
    assert.match(err.message, /data dir \/data belongs to node 1, not node 2/);
    assert.deepEqual(disk.paths(), before, "nothing written");
    // The lock was released: the owner still opens it (and now meets the damage).
    await assert.rejects(DiskStorage.open(disk, DATA, { nodeId: 1 }), { code: "wal_corrupt" });
  });

  test("the node id is checked after the lock: a dir in use is data_dir_locked, whoever asks", async () => {
    const disk = new MemDisk();
    const first = await DiskStorage.open(disk, DATA, { nodeId: 1 });
    await assert.rejects(DiskStorage.open(disk, DATA, { nodeId: 2 }), { code: "data_dir_locked" });
    await first.close();
  });

  test("a mismatch on a dir holding only the claim creates no wal/ or snap/", async () => {
    const disk = new MemDisk();
    await disk.mkdirp(DATA);
    disk.setFile(FILE, encodeNodeIdFile(7));
    await assert.rejects(DiskStorage.open(disk, DATA, { nodeId: 8 }), { code: "node_id_mismatch" });
    assert.deepEqual(await disk.list(DATA), [NODE_ID_FILE]);
  });

  test("a damaged or unreadable node-id file is node_id_corrupt, naming the file", async () => {
    const disk = new MemDisk();
    await dirOfNode1(disk, 1);
    const good = await disk.readFile(FILE);
    for (const damaged of [
      new Uint8Array(0),
      good.subarray(0, 10),
      good.map((b, i) => (i === 18 ? b ^ 1 : b)),
    ]) {
      disk.setFile(FILE, damaged);
      await assert.rejects(restart(disk, DATA, { nodeId: 1 }), (e: unknown) => {
        assert.ok(e instanceof StorageError);
        assert.equal(e.code, "node_id_corrupt");
        assert.match(
          e.message,
          /\/data\/node-id, which names the node that owns data dir \/data, is damaged/,
        );
        return true;
      });
      assert.deepEqual(await disk.readFile(FILE), damaged, "a damaged claim is left for the operator");
    }
    disk.setFile(FILE, good);
    disk.killProcesses();
    const unreadable = new FaultDisk(disk);
    unreadable.readFile = async (path: string) => {
      if (path === FILE) throw Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
      return disk.readFile(path);
    };
    await assert.rejects(DiskStorage.open(unreadable, DATA, { nodeId: 1 }), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, "node_id_corrupt");
      assert.match(e.message, /cannot be read \(EIO: i\/o error\)/);
      assert.equal((e.cause as NodeJS.ErrnoException).code, "EIO");
      return true;
    });
  });

  test("a data dir from before node-id files is adopted by the first id that opens it, with an info line", async () => {
    const disk = new MemDisk();
    await dirOfNode1(disk);
    assert.equal(await ownerOf(disk), "none");
    const { infos, logger } = infoLogger();
    const s = await restart(disk, DATA, { nodeId: 1, logger });
    assert.equal(s.lastIndex(), 3, "state kept");
    await s.close();
    assert.equal(await ownerOf(disk), 1);
    assert.equal(infos.length, 1);
    assert.match(infos[0]!.msg, /no node-id file .*claimed for node 1/);
    assert.deepEqual(infos[0]!.fields, { dataDir: DATA, nodeId: 1, file: FILE });
    await assert.rejects(restart(disk, DATA, { nodeId: 2 }), { code: "node_id_mismatch" });
  });

  test("without nodeId nothing is checked or written (tools, tests)", async () => {
    const disk = new MemDisk();
    await dirOfNode1(disk, 1);
    const s = await restart(disk, DATA);
    await s.close();
    const fresh = new MemDisk();
    await dirOfNode1(fresh);
    assert.equal(await ownerOf(fresh), "none");
  });

  test("a claim interrupted at any step and a power cut leave no claim or the whole claim, never a damaged one", async () => {
    const counting = new CrashAtDisk(new MemDisk(), Number.POSITIVE_INFINITY);
    await (await DiskStorage.open(counting, DATA, { nodeId: 5 })).close();
    assert.ok(counting.steps > 4);
    const seen = new Set<string>();
    for (let crashAt = 0; crashAt < counting.steps; crashAt++) {
      for (const seed of [1, 2, 3]) {
        const mem = new MemDisk();
        const opening = DiskStorage.open(new CrashAtDisk(mem, crashAt), DATA, { nodeId: 5 });
        await opening.then(
          (s) => s.close(),
          (e: unknown) => assert.ok(e instanceof InjectedCrash, String(e)),
        );
        mem.crash(seededRng(seed));
        const after = await ownerOf(mem);
        assert.ok(after === "none" || after === 5, `crash at ${crashAt}, seed ${seed}: ${after}`);
        seen.add(String(after));
        // The node starts again and the claim is whole afterwards, leftovers gone.
        await (await DiskStorage.open(mem, DATA, { nodeId: 5 })).close();
        assert.equal(await ownerOf(mem), 5);
        assert.deepEqual(
          (await mem.list(DATA)).filter((n) => n.endsWith(".tmp")),
          [],
          `crash at ${crashAt}: leftover`,
        );
        await assert.rejects(restart(mem, DATA, { nodeId: 6 }), { code: "node_id_mismatch" });
      }
    }
    assert.deepEqual([...seen].sort(), ["5", "none"], "both outcomes reached");
  });
});

describe("writeFileAtomically", () => {
  test("a crash at any step leaves the old content or the new, never a mix", async () => {
    const path = `${DATA}/f`;
    const base = new MemDisk();
    await base.mkdirp(DATA);
    await writeFileAtomically(base, path, [Buffer.from("old content, longer than the new")]);
    const parts = [Buffer.from("new "), Buffer.from("bytes")];
    const counting = new CrashAtDisk(base.clone(), Number.POSITIVE_INFINITY);
    await writeFileAtomically(counting, path, parts);
    const outcomes = new Set<string>();
    for (let crashAt = 0; crashAt < counting.steps; crashAt++) {
      for (const seed of [1, 2, 3, 4]) {
        const mem = base.clone();
        await writeFileAtomically(new CrashAtDisk(mem, crashAt), path, parts).catch((e: unknown) => {
          if (!(e instanceof InjectedCrash)) throw e;
        });
        mem.crash(seededRng(seed));
        const text = Buffer.from(await mem.readFile(path)).toString();
        assert.ok(
          ["old content, longer than the new", "new bytes"].includes(text),
          `${crashAt}/${seed}: ${text}`,
        );
        outcomes.add(text);
      }
    }
    assert.equal(outcomes.size, 2, "both outcomes reached");
    // Completed, it is durable at once: a power cut right after keeps the new content.
    const mem = base.clone();
    await writeFileAtomically(mem, path, parts);
    mem.crash();
    assert.equal(Buffer.from(await mem.readFile(path)).toString(), "new bytes");
    assert.deepEqual(await mem.list(DATA), ["f"]);
  });
});
