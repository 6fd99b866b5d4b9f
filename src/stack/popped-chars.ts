import type { Command } from "./types.js";

/**
 * UTF-16 units a pop would remember under its idempotency key (its items, and the label for a
 * blocking pop), so the session table's chars limit holds before the pop runs. `itemsOf` gives the
 * items of a stack by id (number) or label (string), bottom first.
 */
export function poppedChars(
  cmd: Command,
  itemsOf: (id: number | string) => readonly string[] | undefined,
): number {
  switch (cmd.type) {
    case "pop":
    case "bpopId":
      return itemsOf(cmd.id)?.at(-1)?.length ?? 0;
    case "lpop": {
      const items = itemsOf(cmd.label) ?? [];
      let chars = 0;
      for (let i = 1; i <= Math.min(cmd.count ?? 1, items.length); i++) chars += items.at(-i)!.length;
      return chars;
    }
    case "bpop":
      for (const label of cmd.labels) {
        const top = itemsOf(label)?.at(-1);
        if (top !== undefined) return label.length + top.length;
      }
      return 0;
    default:
      return 0;
  }
}
