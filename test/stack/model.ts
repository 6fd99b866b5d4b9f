import type { Command, Outcome } from "../../src/stack/index.js";

// The obvious, slow stack machine that StackMachine must agree with (model.test.ts, lpush-bytes.test.ts),
// under these small limits so that every limit is reached.
export const limits = {
  itemBytesMax: 3,
  labelBytesMax: 2,
  keyBytesMax: 2,
  pushItemsMax: 3,
  popItemsMax: 2,
  labelsPerCommandMax: 2,
  stacksMax: 4,
  itemsMax: 8,
  itemCharsMax: 100,
  sessionsMax: 3,
  sessionCharsMax: 100,
  sessionRetentionMs: 50,
  clockStepMaxMs: 20,
};
const utf8 = new TextEncoder();

/** The obvious, slow implementation the machine must agree with. */
export class Model {
  stacks: { id: number; label: string; items: string[] }[] = [];
  nextId = 1;
  now = 0;
  latestStamp = 0;
  sessions: { key: string; atMs: number; command: string; outcome: Outcome }[] = [];

  /** `data` is the encoded command: the same command is the same bytes apart from the timestamp. */
  apply(cmd: Command, data: Uint8Array): Outcome {
    if (cmd.atMs > this.latestStamp) {
      this.now += Math.min(cmd.atMs - this.latestStamp, limits.clockStepMaxMs);
      this.latestStamp = cmd.atMs;
    }
    this.sessions = this.sessions.filter((s) => this.now - s.atMs < limits.sessionRetentionMs);
    if (cmd.key === undefined) return this.execute(cmd);
    if (cmd.key === "" || utf8.encode(cmd.key).length > limits.keyBytesMax)
      return { ok: false, code: "key_invalid" };
    const command = [...data.subarray(0, 2), ...data.subarray(10)].join(",");
    const known = this.sessions.find((s) => s.key === cmd.key);
    if (known)
      return known.command === command ? known.outcome : { ok: false, code: "idempotency_key_reused" };
    const popped = (o: Outcome) => (o.ok && o.kind === "popped" ? o.item.length : 0);
    const top = cmd.type === "pop" ? this.stacks.find((s) => s.id === cmd.id)?.items.at(-1) : undefined;
    const chars = this.sessions.reduce((n, s) => n + s.key.length + popped(s.outcome), 0);
    if (
      this.sessions.length >= limits.sessionsMax ||
      chars + cmd.key.length + (top?.length ?? 0) > limits.sessionCharsMax
    ) {
      return { ok: false, code: "idempotency_keys_full" };
    }
    const outcome = this.execute(cmd);
    // A blocking pop that found nothing is not remembered: its waiter retries under the same key.
    if ((cmd.type === "bpop" || cmd.type === "bpopId") && !outcome.ok && outcome.code === "stack_empty")
      return outcome;
    this.sessions.push({ key: cmd.key, atMs: this.now, command, outcome });
    return outcome;
  }

  execute(cmd: Command): Outcome {
    if ("id" in cmd && !(Number.isSafeInteger(cmd.id) && cmd.id > 0))
      return { ok: false, code: "bad_command" };
    const stack = "id" in cmd ? this.stacks.find((s) => s.id === cmd.id) : undefined;
    switch (cmd.type) {
      case "create": {
        if (cmd.label === "") return { ok: false, code: "label_invalid" };
        if (utf8.encode(cmd.label).length > limits.labelBytesMax)
          return { ok: false, code: "label_too_large" };
        const existing = this.stacks.find((s) => s.label === cmd.label);
        if (existing) return { ok: true, kind: "created", id: existing.id };
        if (this.stacks.length >= limits.stacksMax) return { ok: false, code: "capacity_exceeded" };
        this.stacks.push({ id: this.nextId, label: cmd.label, items: [] });
        return { ok: true, kind: "created", id: this.nextId++ };
      }
      case "delete":
        if (!stack) return { ok: false, code: "stack_not_found" };
        this.stacks = this.stacks.filter((s) => s !== stack);
        return { ok: true, kind: "deleted", id: cmd.id };
      case "push": {
        if (cmd.items.length === 0) return { ok: false, code: "bad_command" };
        if (cmd.items.length > limits.pushItemsMax) return { ok: false, code: "too_many_items" };
        if (cmd.items.some((i) => utf8.encode(i).length > limits.itemBytesMax)) {
          return { ok: false, code: "item_too_large" };
        }
        if (!stack) return { ok: false, code: "stack_not_found" };
        const total = this.stacks.reduce((n, s) => n + s.items.length, 0);
        if (total + cmd.items.length > limits.itemsMax) return { ok: false, code: "capacity_exceeded" };
        stack.items.push(...cmd.items);
        return { ok: true, kind: "pushed", size: stack.items.length };
      }
      case "pop":
      case "bpopId": {
        if (!stack) return { ok: false, code: "stack_not_found" };
        const item = stack.items.pop();
        return item === undefined ? { ok: false, code: "stack_empty" } : { ok: true, kind: "popped", item };
      }
      case "lpush": {
        const bad = labelError(cmd.label) ?? itemsError(cmd.items);
        if (bad) return { ok: false, code: bad };
        let target = this.stacks.find((s) => s.label === cmd.label);
        const total = this.stacks.reduce((n, s) => n + s.items.length, 0);
        if (total + cmd.items.length > limits.itemsMax) return { ok: false, code: "capacity_exceeded" };
        if (!target) {
          if (this.stacks.length >= limits.stacksMax) return { ok: false, code: "capacity_exceeded" };
          target = { id: this.nextId++, label: cmd.label, items: [] };
          this.stacks.push(target);
        }
        target.items.push(...cmd.items);
        return { ok: true, kind: "pushed", size: target.items.length };
      }
      case "lpop": {
        if (cmd.count !== undefined && cmd.count < 1) return { ok: false, code: "bad_command" };
        if (cmd.count !== undefined && cmd.count > limits.popItemsMax)
          return { ok: false, code: "too_many_items" };
        const bad = labelError(cmd.label);
        if (bad) return { ok: false, code: bad };
        const target = this.stacks.find((s) => s.label === cmd.label);
        if (!target) return { ok: false, code: "stack_not_found" };
        if (target.items.length === 0) return { ok: false, code: "stack_empty" };
        if (cmd.count === undefined) return { ok: true, kind: "popped", item: target.items.pop() as string };
        const items = target.items.splice(-cmd.count).reverse();
        return { ok: true, kind: "poppedItems", items };
      }
      case "del":
      case "bpop": {
        if (cmd.labels.length === 0) return { ok: false, code: "bad_command" };
        if (cmd.labels.length > limits.labelsPerCommandMax) return { ok: false, code: "too_many_items" };
        for (const l of cmd.labels) {
          const bad = labelError(l);
          if (bad) return { ok: false, code: bad };
        }
        if (cmd.type === "del") {
          const before = this.stacks.length;
          this.stacks = this.stacks.filter((s) => !cmd.labels.includes(s.label));
          return { ok: true, kind: "deletedCount", count: before - this.stacks.length };
        }
        for (const l of cmd.labels) {
          const target = this.stacks.find((s) => s.label === l && s.items.length > 0);
          if (target) return { ok: true, kind: "poppedFrom", label: l, item: target.items.pop() as string };
        }
        return { ok: false, code: "stack_empty" };
      }
    }
  }
}

function labelError(l: string): "label_invalid" | "label_too_large" | undefined {
  if (l === "") return "label_invalid";
  return utf8.encode(l).length > limits.labelBytesMax ? "label_too_large" : undefined;
}

function itemsError(
  items: readonly string[],
): "bad_command" | "too_many_items" | "item_too_large" | undefined {
  if (items.length === 0) return "bad_command";
  if (items.length > limits.pushItemsMax) return "too_many_items";
  return items.some((i) => utf8.encode(i).length > limits.itemBytesMax) ? "item_too_large" : undefined;
}
