// Review of raw ECHO replies (Buffer slots) among the fast lane's LPUSH runs (RunSlot): order and bytes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespServer } from "../../src/resp/index.js";
import { FakeService, silent } from "../server/fake-service.js";
import { bin, byteConn, frame, wire } from "./helpers.js";

test("raw ECHO replies between LPUSH runs keep their place and their bytes", {
  timeout: 30_000,
}, async () => {
  const server = new RespServer(new FakeService(1), { host: "127.0.0.1", port: 0, logger: silent });
  const port = await server.listen();
  const { socket, bytes } = await byteConn(port);
  try {
    const raw = (n: number) => Buffer.from([0xff, 0xfe, n, 0x80]);
    const run = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => frame("LPUSH", "q", `v${from + i}`));
    const request: (string | Buffer)[] = [];
    const expected: (string | Buffer)[] = [];
    let size = 0;
    for (let round = 0; round < 20; round++) {
      request.push(...run(size, 7), wire(Buffer.from("ECHO"), raw(round)), frame("LLEN", "q"));
      for (let i = 1; i <= 7; i++) expected.push(`:${size + i}\r\n`);
      size += 7;
      expected.push("$4\r\n", raw(round), "\r\n", `:${size}\r\n`);
    }
    // One write, then one byte at a time: runs cut at every place, replies joined in any grouping.
    const all = bin(...request);
    socket.write(all.subarray(0, all.length >> 1));
    for (const b of all.subarray(all.length >> 1)) socket.write(Buffer.from([b]));
    const want = bin(...expected);
    const deadline = Date.now() + 20_000;
    while (bytes().length < want.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(bytes(), want);
  } finally {
    socket.destroy();
    await server.close();
  }
});
