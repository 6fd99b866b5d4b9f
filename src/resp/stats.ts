// The RESP listener's counters: kept in typed arrays on the hot path, read by INFO and published to
// Prometheus only when scraped (a prom-client call per pipelined command cost more than the command's reply).
import { Counter, Gauge, type Registry } from "prom-client";
import type { Reply } from "./reply.js";

/** Why a connection, or a request of one, was refused (`raftstack_resp_rejected_total{reason}`). */
export const REJECT_REASONS = [
  /** The listener's connectionsMax: Node drops the socket before it is served. */
  "connections_max",
  /** The client guard's connectionsPerAddressMax. */
  "connections_per_address",
  /** A TLS handshake that failed or timed out. */
  "tls_handshake",
  /** -NOAUTH: a command before a valid AUTH. */
  "unauthorized",
  /** -NOPERM: the token's role is too low for the command. */
  "forbidden",
  /** -WRONGPASS: AUTH or HELLO AUTH with an unknown password. */
  "wrong_password",
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Why a served connection ended (`raftstack_resp_closed_total{reason}`). */
export const CLOSE_REASONS = [
  /** QUIT, once its +OK was written. */
  "quit",
  /** A malformed request, once -ERR Protocol error was written. */
  "protocol_error",
  /** The client shut its side down (FIN) and got its replies. */
  "peer_closed",
  /** The socket failed (a reset by the client, a write error). */
  "socket_error",
  /** The client did not read its replies past replyBytesMax (Redis: client-output-buffer-limit). */
  "reply_backlog",
  /** The listener closed (node shutdown). */
  "shutdown",
] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

/** Error codes (the first word of an error reply) with an index of their own; more share OTHER_CODE. */
const CODES_MAX = 47;
/** The label and INFO name of the codes past CODES_MAX (never expected: every code is a literal). */
const OTHER_CODE = "OTHER";
/** Results per command: ok, then one per error code. */
const STRIDE = CODES_MAX + 2;
const OK_RESULT = 0;

const REFUSAL_OF_CODE: ReadonlyMap<string, RejectReason> = new Map([
  ["NOAUTH", "unauthorized"],
  ["NOPERM", "forbidden"],
  ["WRONGPASS", "wrong_password"],
]);

/** What the listener knows at read time: connections open, and bytes of the live and closed sockets. */
export interface LiveCounts {
  readonly connections: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

type Fields = [string, string | number][];

/**
 * Counts per command and result (ok or error code), rejected calls, connections opened, refused and
 * closed by reason. Every hot-path method is an array index and an add; INFO and `collect()` read them.
 */
export class RespStats {
  /** Commands by name (upper case) → index; the last index is every unknown command. */
  private readonly ids = new Map<string, number>();
  private readonly names: readonly string[];
  readonly unknown: number;
  private readonly codes = new Map<string, number>();
  private readonly codeNames: string[] = [];
  /** [command · STRIDE + result]: replies by command and result (OK_RESULT, or 1 + the code's index). */
  private readonly replies: Float64Array;
  /** Replies that refused a command before it ran (arity, NOAUTH, NOPERM, argument not UTF-8). */
  private readonly rejectedCalls: Float64Array;
  private readonly rejected = new Float64Array(REJECT_REASONS.length);
  private readonly closed = new Float64Array(CLOSE_REASONS.length);
  private connectionsOpened = 0;

  constructor(
    commandNames: readonly string[],
    private readonly live: () => LiveCounts,
  ) {
    this.names = [...commandNames.map((n) => n.toUpperCase()), "UNKNOWN"];
    this.unknown = this.names.length - 1;
    for (let i = 0; i < this.unknown; i++) this.ids.set(this.names[i] as string, i);
    this.replies = new Float64Array(this.names.length * STRIDE);
    this.rejectedCalls = new Float64Array(this.names.length);
  }

  /** The index of command `name` (any case) for the counting methods. */
  commandId(name: string): number {
    return this.ids.get(name) ?? this.ids.get(name.toUpperCase()) ?? this.unknown;
  }

  /** `n` replies of command `cmd` that were not errors. */
  ok(cmd: number, n = 1): void {
    add(this.replies, cmd * STRIDE + OK_RESULT, n);
  }

  /** Counts the reply of command `cmd`: ok, or its error code. */
  reply(cmd: number, reply: Reply): void {
    if (reply.t === "error") this.error(cmd, reply.s);
    else add(this.replies, cmd * STRIDE + OK_RESULT, 1);
  }

  /** An error reply `-CODE message` of command `cmd` (the text without the minus). */
  error(cmd: number, text: string): void {
    const space = text.indexOf(" ");
    const code = space < 0 ? text : text.slice(0, space);
    add(this.replies, cmd * STRIDE + 1 + this.codeIndex(code), 1);
    const refusal = REFUSAL_OF_CODE.get(code);
    if (refusal !== undefined) this.refused(refusal);
  }

  /** Command `cmd` was refused before running (its error reply is counted by `reply`). */
  rejectedCall(cmd: number, n = 1): void {
    add(this.rejectedCalls, cmd, n);
  }

  connectionOpened(): void {
    this.connectionsOpened++;
  }

  refused(reason: RejectReason): void {
    add(this.rejected, REJECT_REASONS.indexOf(reason), 1);
  }

  connectionClosed(reason: CloseReason): void {
    add(this.closed, CLOSE_REASONS.indexOf(reason), 1);
  }

  private codeIndex(code: string): number {
    const known = this.codes.get(code);
    if (known !== undefined) return known;
    // Past CODES_MAX codes are not remembered, so the map stays bounded whatever replies are sent.
    const i = this.codeNames.length;
    if (i === CODES_MAX) return CODES_MAX;
    this.codeNames.push(code);
    this.codes.set(code, i);
    return i;
  }

  /** The code of result column `r` (1-based), upper case. */
  private codeName(r: number): string {
    return this.codeNames[r - 1] ?? OTHER_CODE;
  }

  /** Calls (ok and failed, without rejected ones), rejected and failed calls of command `cmd`. */
  private calls(cmd: number): { calls: number; rejected: number; failed: number } {
    let errors = 0;
    for (let r = 1; r < STRIDE; r++) errors += this.replies[cmd * STRIDE + r] as number;
    const rejected = this.rejectedCalls[cmd] as number;
    const ok = this.replies[cmd * STRIDE + OK_RESULT] as number;
    return { calls: ok + errors - rejected, rejected, failed: errors - rejected };
  }

  /** Error replies by code, over all commands. */
  private errorCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (let cmd = 0; cmd < this.names.length; cmd++) {
      for (let r = 1; r < STRIDE; r++) {
        const n = this.replies[cmd * STRIDE + r] as number;
        if (n > 0) out.set(this.codeName(r), (out.get(this.codeName(r)) ?? 0) + n);
      }
    }
    return out;
  }

  private rejectedOf(reason: RejectReason): number {
    return this.rejected[REJECT_REASONS.indexOf(reason)] as number;
  }

  /** INFO stats, in Redis's field names. */
  infoStats(): Fields {
    let processed = 0;
    for (let cmd = 0; cmd < this.names.length; cmd++) processed += this.calls(cmd).calls;
    let errors = 0;
    for (const n of this.errorCounts().values()) errors += n;
    const live = this.live();
    return [
      ["total_connections_received", this.connectionsOpened],
      ["total_commands_processed", processed],
      ["total_net_input_bytes", live.bytesRead],
      ["total_net_output_bytes", live.bytesWritten],
      [
        "rejected_connections",
        this.rejectedOf("connections_max") + this.rejectedOf("connections_per_address"),
      ],
      [
        "client_output_buffer_limit_disconnections",
        this.closed[CLOSE_REASONS.indexOf("reply_backlog")] as number,
      ],
      ["total_error_replies", errors],
    ];
  }

  /**
   * INFO commandstats as Redis writes it. usec and usec_per_call are 0: commands are not timed (a clock
   * read per pipelined command), the fields are there for parsers that expect them.
   */
  infoCommandstats(): Fields {
    const out: Fields = [];
    for (const [cmd, name] of this.names.entries()) {
      // Redis lists no unknown command here (its refusals are in errorstats); Prometheus has them.
      if (cmd === this.unknown) continue;
      const { calls, rejected, failed } = this.calls(cmd);
      if (calls + rejected === 0) continue;
      const value = `calls=${calls},usec=0,usec_per_call=0.00,rejected_calls=${rejected},failed_calls=${failed}`;
      out.push([`cmdstat_${name.toLowerCase()}`, value]);
    }
    return out;
  }

  /** INFO errorstats: error replies by code, sorted by code as Redis lists them. */
  infoErrorstats(): Fields {
    return [...this.errorCounts()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([code, n]) => [`errorstat_${code}`, `count=${n}`]);
  }

  /** Registers the `raftstack_resp_*` metrics (docs/operations.md), read from the arrays when scraped. */
  register(registry: Registry): void {
    const registers = [registry];
    const stats = this;
    const published = new Float64Array(this.replies.length);
    new Counter({
      name: "raftstack_resp_commands_total",
      help: "RESP commands answered, by command (unknown: not a command) and result (ok, or the error code)",
      labelNames: ["command", "result"],
      registers,
      collect() {
        for (let i = 0; i < stats.replies.length; i++) {
          const grew = (stats.replies[i] as number) - (published[i] as number);
          if (grew === 0) continue;
          published[i] = stats.replies[i] as number;
          const r = i % STRIDE;
          const command = (stats.names[(i - r) / STRIDE] as string).toLowerCase();
          this.inc({ command, result: r === OK_RESULT ? "ok" : stats.codeName(r).toLowerCase() }, grew);
        }
      },
    });
    new Gauge({
      name: "raftstack_resp_connections",
      help: "RESP connections open",
      registers,
      collect() {
        this.set(stats.live().connections);
      },
    });
    let openedPublished = 0;
    new Counter({
      name: "raftstack_resp_connections_total",
      help: "RESP connections accepted (refused ones are in raftstack_resp_rejected_total)",
      registers,
      collect() {
        this.inc(stats.connectionsOpened - openedPublished);
        openedPublished = stats.connectionsOpened;
      },
    });
    byReason(
      "raftstack_resp_rejected_total",
      "RESP connections refused (connections_max, connections_per_address, tls_handshake) and requests refused (unauthorized, forbidden, wrong_password)",
      REJECT_REASONS,
      this.rejected,
      registers,
    );
    byReason(
      "raftstack_resp_closed_total",
      "RESP connections ended, by reason (quit, protocol_error, peer_closed, socket_error, reply_backlog, shutdown)",
      CLOSE_REASONS,
      this.closed,
      registers,
    );
  }
}

function add(counts: Float64Array, i: number, n: number): void {
  counts[i] = (counts[i] as number) + n;
}

/** A counter of one series per reason, every one present from the start (an alert sees 0, not nothing). */
function byReason(
  name: string,
  help: string,
  reasons: readonly string[],
  counts: Float64Array,
  registers: Registry[],
): void {
  const published = new Float64Array(counts.length);
  new Counter({
    name,
    help,
    labelNames: ["reason"],
    registers,
    collect() {
      for (const [i, reason] of reasons.entries()) {
        this.inc({ reason }, (counts[i] as number) - (published[i] as number));
        published[i] = counts[i] as number;
      }
    },
  });
}
