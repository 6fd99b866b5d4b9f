import { prettyFactory } from "pino-pretty";

const COLORS = [36, 33, 32, 35, 34, 91, 92, 93, 94, 95];

/** `HH:MM:ss.mmm` in UTC: what pino-pretty's `translateTime: "HH:MM:ss.l"` prints for a record's time. */
export function utcTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/**
 * How the cluster console shows a node's output: each line under the node's name (coloured per node),
 * with a UTC time, as an operator reading the console during an incident needs one on every line. A
 * pino record is printed readable on one line at the time it was logged; any other line (a crash's stack
 * trace, a refusal to start, a shutdown notice on stderr) at the time the console read it.
 */
export class NodeLines {
  private readonly pretty: (record: object) => string;

  constructor(
    private readonly color: boolean,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.pretty = prettyFactory({
      colorize: color,
      singleLine: true,
      translateTime: "HH:MM:ss.l",
      ignore: "pid,hostname,node",
    });
  }

  /**
   * One output line of node `id` as the console writes it, one or more lines: pino-pretty puts an error's
   * fields (`err`, its stack) on lines of their own, and each gets the name and the record's time too, so
   * no line of the console is without them. `width`: the longest name's length.
   */
  format(id: number, name: string, width: number, line: string): string {
    const plain = `${name.padEnd(width)} | `;
    const prefix = this.color ? `\x1b[${COLORS[(id - 1) % COLORS.length]}m${plain}\x1b[0m` : plain;
    const record = parseRecord(line);
    const logged = typeof record?.time === "number" ? record.time : undefined;
    const time = `[${utcTime(logged ?? this.nowMs())}] `;
    if (record === undefined) return `${prefix}${time}${line}\n`;
    const [first, ...more] = this.pretty(record).trimEnd().split(/ *\n/);
    // pino-pretty prints the record's own time on its first line; a record without one gets the time it was read.
    let out = `${prefix}${logged === undefined ? time : ""}${first}\n`;
    for (const next of more) out += `${prefix}${time}${next}\n`;
    return out;
  }
}

/** A pino record (a JSON object on one line), or undefined for any other line. */
function parseRecord(line: string): { readonly time?: unknown } | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
