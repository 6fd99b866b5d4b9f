import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { NODE_FLAGS, type NodeFlag, UsageError } from "./options.js";

/** A config file is read whole at start; anything this large is not one. */
export const CONFIG_FILE_BYTES_MAX = 1024 * 1024;

/**
 * Reads a node config file (`--config FILE`, like etcd's --config-file): a YAML mapping from flag
 * names to values, e.g. `data-dir: /var/lib/raftstack` or `cluster: [http://a:12379, ...]`. JSON is
 * YAML too. Unknown keys are errors, so a typo does not silently fall back to a default.
 */
export function readNodeConfigFile(path: string): Partial<Record<NodeFlag, unknown>> {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > CONFIG_FILE_BYTES_MAX) throw new Error(`larger than ${CONFIG_FILE_BYTES_MAX} bytes`);
    text = bytes.toString("utf8");
  } catch (cause) {
    throw new UsageError("config_unreadable", `--config ${path}: ${(cause as Error).message}`, { cause });
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (cause) {
    throw new UsageError(
      "config_unreadable",
      `--config ${path}: not YAML or JSON: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new UsageError("config_unreadable", `--config ${path}: expected a mapping of flag names to values`);
  }
  const values: Partial<Record<NodeFlag, unknown>> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!Object.hasOwn(NODE_FLAGS, key)) {
      throw new UsageError(
        "unknown_option",
        `--config ${path}: unknown key ${JSON.stringify(key)} (expected one of ${Object.keys(NODE_FLAGS).join(", ")})`,
      );
    }
    // YAML null (`port:`) means "not set", as an absent key does.
    if (value !== null) values[key as NodeFlag] = value;
  }
  return values;
}
