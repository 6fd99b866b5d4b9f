import type { ItemStack } from "./items.js";
import type { Command } from "./types.js";

/**
 * UTF-16 units a pop would remember under its idempotency key (its items, and the label for a
 * blocking pop), so the session table's chars limit holds before the pop runs. `itemsOf` gives the
 * items of a stack by id (number) or label (string), bottom first.
 */
export function poppedChars(cmd: Command, itemsOf: (id: number | string) => ItemStack | undefined): number {
  switch (cmd.type) {
    case "pop":
    case "bpopId":
      return itemsOf(cmd.id)?.topChars(1) ?? 0;
    case "lpop": {
      return itemsOf(cmd.label)?.topChars(cmd.count ?? 1) ?? 0;
    }
    case "bpop":
      for (const label of cmd.labels) {
        const items = itemsOf(label);
        if (items !== undefined && items.length > 0) return label.length + items.topChars(1);
      }
      return 0;
    default:
      return 0;
  }
}
