// Memory per remembered idempotency key: heap growth of a StackMachine after N keyed pushes with
// 36-character keys (a UUID's length), all within the retention. Sets `sessionsMax` and
// `sessionCharsMax` (src/stack/limits.ts). Run: node --expose-gc dist/bench/sessions.js [N]
import { randomUUID } from "node:crypto";
import { encodeCommand, StackMachine } from "../src/stack/index.js";

const SESSIONS = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** Long enough that no key expires during the run: only the table's size matters here. */
const RETENTION_MS = 24 * 60 * 60 * 1000;
const machine = new StackMachine({
  limits: { sessionsMax: SESSIONS + 1, sessionCharsMax: 64 * SESSIONS, sessionRetentionMs: RETENTION_MS },
});
let index = 0;
const atMs = 1_700_000_000_000;
machine.apply(++index, encodeCommand({ type: "create", label: "s", atMs }));
// One item, pushed and popped unkeyed between keyed pushes, so the stack does not grow with N.
const before = heapUsed();
const started = performance.now();
for (let i = 0; i < SESSIONS; i++) {
  machine.apply(
    ++index,
    encodeCommand({ type: "push", id: 1, items: ["x"], key: randomUUID(), atMs: atMs + i }),
  );
  machine.apply(++index, encodeCommand({ type: "pop", id: 1, atMs: atMs + i }));
}
const applyMs = performance.now() - started;
const after = heapUsed();
if (machine.sessionCount !== SESSIONS)
  throw new Error(`${machine.sessionCount} sessions, expected ${SESSIONS}`);
const perSession = (after - before) / SESSIONS;
const snapshotBytes = machine.snapshot().length;
console.log(
  `${SESSIONS} sessions (36-char keys): heap +${((after - before) / 2 ** 20).toFixed(1)} MiB = ` +
    `${perSession.toFixed(0)} bytes per session; snapshot ${(snapshotBytes / SESSIONS).toFixed(1)} bytes ` +
    `per session; ${((SESSIONS * 2) / applyMs).toFixed(0)} applies/ms`,
);
