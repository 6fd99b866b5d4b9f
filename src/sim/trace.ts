/** Trace lines kept for a failure report; older ones are only in the hash. */
export const traceLinesMax = 200;

/**
 * The run's trace: every event is folded into an FNV-1a hash (over 32-bit words, so it is cheap) and the
 * last `traceLinesMax` events are kept as raw fields, formatted into text only when a report asks.
 */
export class Trace {
  hash = 0x811c9dc5;
  events = 0;
  private readonly times = new Float64Array(traceLinesMax);
  private readonly kinds: string[] = new Array<string>(traceLinesMax).fill("");
  private readonly nums: number[][] = new Array<number[]>(traceLinesMax).fill([]);
  private readonly texts: string[] = new Array<string>(traceLinesMax).fill("");

  /** `recorder` (the HTML trace viewer's) sees every event too; it never changes the hash. */
  constructor(
    private readonly recorder?: { event(time: number, kind: string, nums: number[], text: string): void },
  ) {}

  /** Records one event: a constant kind, numeric fields (hashed) and optional free text (not hashed). */
  add(time: number, kind: string, nums: number[], text = ""): void {
    let h = this.hash;
    h = Math.imul(h ^ kindCode(kind), 0x01000193);
    h = Math.imul(h ^ Math.round(time * 1000), 0x01000193);
    for (const n of nums) h = Math.imul(h ^ n, 0x01000193);
    this.hash = h >>> 0;
    const slot = this.events % traceLinesMax;
    this.times[slot] = time;
    this.kinds[slot] = kind;
    this.nums[slot] = nums;
    this.texts[slot] = text;
    this.events++;
    this.recorder?.event(time, kind, nums, text);
  }

  /** The last `linesMax` events, oldest first, as readable lines. */
  tail(linesMax = traceLinesMax): string[] {
    const count = Math.min(this.events, traceLinesMax, linesMax);
    const lines: string[] = [];
    for (let i = this.events - count; i < this.events; i++) {
      const slot = i % traceLinesMax;
      const t = (this.times[slot] as number).toFixed(3).padStart(10);
      const text = this.texts[slot] ? ` ${this.texts[slot]}` : "";
      lines.push(`${t}ms ${this.kinds[slot]} ${(this.nums[slot] as number[]).join(" ")}${text}`);
    }
    return lines;
  }

  hex(): string {
    return this.hash.toString(16).padStart(8, "0");
  }
}

const kindCodes = new Map<string, number>();

/** Kinds are hashed by content, so the trace hash does not depend on which kind was seen first. */
function kindCode(kind: string): number {
  let code = kindCodes.get(kind);
  if (code === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < kind.length; i++) h = Math.imul(h ^ kind.charCodeAt(i), 0x01000193);
    code = h >>> 0;
    kindCodes.set(kind, code);
  }
  return code;
}
