// The e2e harness's clusters with a RESP listener per node, and redis-cli.
import { execFile } from "node:child_process";
import { Redis } from "ioredis";
import { Cluster } from "../e2e/harness.js";

/** Node i listens for RESP on basePort + 10·i + 2 (peer + 0, HTTP + 1). */
export class RespCluster extends Cluster {
  respPort(i: number): number {
    return this.basePort + 10 * i + 2;
  }

  override args(i: number): string[] {
    return [...super.args(i), "--resp-port", String(this.respPort(i))];
  }

  /** An ioredis client of node i that never reconnects or retries on its own (the tests decide). */
  redis(i: number): Redis {
    return new Redis({
      host: "127.0.0.1",
      port: this.respPort(i),
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
  }
}

/** Runs redis-cli with `args` (stdin: `input`, one command per line) and returns stdout. */
export function redisCli(
  port: number,
  args: readonly string[],
  input?: string,
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "redis-cli",
      ["-p", String(port), ...args],
      { timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli ${args.join(" ")}: ${err.message} ${stderr}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(input ?? "");
  });
}
