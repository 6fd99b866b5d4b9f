import { Command, CommanderError, Option } from "commander";
import { readNodeConfigFile } from "./config-file.js";
import {
  envNameOf,
  NODE_FLAGS,
  type NodeFlag,
  type NodeInput,
  type NodeOptions,
  nodeFlagNames,
  UsageError,
  validateNodeOptions,
} from "./options.js";

/** `--config FILE` may also come from the environment, so a container needs no arguments at all. */
export const CONFIG_ENV = envNameOf("config");

/** Where node settings come from, highest first; also printed in --help. */
export const PRECEDENCE_TEXT =
  "Each node flag may also come from its RAFTSTACK_* environment variable or from the --config file " +
  "(YAML or JSON, keys named like the flags: `data-dir: /var/lib/raftstack`, `cluster: [URL, ...]`).\n" +
  "Precedence: flag > environment > config file > default. An empty environment variable counts as unset.";

function optionOf(cmd: Command, flag: string): Option {
  const option = cmd.options.find((o) => o.long === `--${flag}`);
  if (option === undefined) throw new Error(`node flag --${flag} is not declared on ${cmd.name()}`);
  return option;
}

/** Declares every node flag and --config on `cmd`; the help of each names its environment variable. */
export function addNodeFlags(cmd: Command, helpGroup?: string): Command {
  const describe = (help: string, env: string, fallback?: string) =>
    `${help} (${fallback === undefined ? "" : `default: ${fallback}, `}env: ${env})`;
  const options = nodeFlagNames.map((flag) => {
    const spec: { arg: string; help: string; default?: string } = NODE_FLAGS[flag];
    const name = spec.arg === "" ? `--${flag}` : `--${flag} ${spec.arg}`;
    return new Option(name, describe(spec.help, envNameOf(flag), spec.default));
  });
  options.push(new Option("--config <file>", describe("YAML or JSON file of node flags", CONFIG_ENV)));
  for (const option of options) cmd.addOption(helpGroup === undefined ? option : option.helpGroup(helpGroup));
  return cmd;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v;
}

/**
 * Merges the node settings given to `cmd` (after commander parsed it) with the environment and the
 * config file: flag > environment > file. Defaults are left to validateNodeOptions.
 */
export function nodeInputOf(cmd: Command, env: NodeJS.ProcessEnv): NodeInput {
  const opts = cmd.opts<Record<string, unknown>>();
  const configPath = (opts["config"] as string | undefined) ?? nonEmpty(env[CONFIG_ENV]);
  const file = configPath === undefined ? {} : readNodeConfigFile(configPath);
  const values: Partial<Record<NodeFlag, unknown>> = {};
  const from: Partial<Record<NodeFlag, string>> = {};
  for (const flag of nodeFlagNames) {
    const key = optionOf(cmd, flag).attributeName();
    const fromEnv = nonEmpty(env[envNameOf(flag)]);
    if (cmd.getOptionValueSource(key) === "cli") {
      values[flag] = opts[key];
      from[flag] = `--${flag}`;
    } else if (fromEnv !== undefined) {
      values[flag] = fromEnv;
      from[flag] = envNameOf(flag);
    } else if (file[flag] !== undefined) {
      values[flag] = file[flag];
      from[flag] = `${flag} in ${configPath}`;
    }
  }
  return { values, from };
}

/** True when some node flag was typed on this command's line (not from env or file). */
export function hasNodeFlagsOnLine(cmd: Command): boolean {
  return [...nodeFlagNames, "config"].some(
    (flag) => cmd.getOptionValueSource(optionOf(cmd, flag).attributeName()) === "cli",
  );
}

/** Commander's own parse errors ("unknown option '--bogus'") as our UsageError, without its "error: ". */
export function usageErrorOf(err: CommanderError): UsageError {
  const code =
    err.code === "commander.unknownOption"
      ? "unknown_option"
      : err.code === "commander.unknownCommand"
        ? "unknown_command"
        : err.code === "commander.optionMissingArgument" ||
            err.code === "commander.missingMandatoryOptionValue"
          ? "missing_value"
          : "invalid_value";
  return new UsageError(code, err.message.replace(/^error: /, ""), { cause: err });
}

/**
 * Parses node flags alone (`--id 1 --cluster ... --port 12380`) with the same declarations, merge
 * and validation as the `raftstack` command; `env` defaults to none so the result depends on argv only.
 */
export function parseNodeArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): NodeOptions {
  const cmd = addNodeFlags(new Command("node"))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    cmd.parse([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) throw usageErrorOf(err);
    throw err;
  }
  return validateNodeOptions(nodeInputOf(cmd, env));
}
