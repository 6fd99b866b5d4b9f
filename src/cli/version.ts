import { readFileSync } from "node:fs";

/**
 * The version in package.json, read at run time so that it is never out of step with the package.
 * This module is dist/src/cli/version.js both in the repository and in the installed package.
 */
export function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"));
  const version = (pkg as { version?: unknown }).version;
  if (typeof version !== "string") throw new Error("package.json has no version");
  return version;
}
