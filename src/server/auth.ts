import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { isRole, type Role, roleAllows } from "../api/index.js";
import { ApiError } from "./errors.js";

/** A token file larger than this is refused (it is read whole on start and on every SIGHUP). */
export const TOKEN_FILE_BYTES_MAX = 1024 * 1024;
/** Tokens shorter than this are refused: a guessable token is no access control. */
export const TOKEN_CHARS_MIN = 16;
/** Longer Authorization headers are refused before any hashing. */
const TOKEN_CHARS_MAX = 4096;

export type TokenFileErrorCode = "unreadable" | "too_large" | "bad_line" | "empty";

/** The token file cannot be used; the message names the file and line, never a token. */
export class TokenFileError extends Error {
  override readonly name = "TokenFileError";
  readonly code: TokenFileErrorCode;
  constructor(code: TokenFileErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

interface Entry {
  /** SHA-256 of the token: every digest has the same length, so timingSafeEqual applies to all. */
  readonly digest: Buffer;
  readonly role: Role;
}

const digestOf = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest();

/** Parses `token role` lines; blank lines and `#` comments are skipped. Errors name the line only. */
export function parseTokenFile(text: string, where: string): readonly Entry[] {
  const entries: Entry[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    const [token, role] = fields;
    const bad = (why: string) => new TokenFileError("bad_line", `${where} line ${i + 1}: ${why}`);
    if (fields.length !== 2 || token === undefined || role === undefined) {
      throw bad("expected `token role`");
    }
    if (!isRole(role))
      throw bad(`role must be read, write or admin, got ${JSON.stringify(role.slice(0, 20))}`);
    if (token.length < TOKEN_CHARS_MIN || token.length > TOKEN_CHARS_MAX) {
      throw bad(`a token has ${TOKEN_CHARS_MIN} to ${TOKEN_CHARS_MAX} characters`);
    }
    entries.push({ digest: digestOf(token), role });
  }
  if (entries.length === 0)
    throw new TokenFileError("empty", `${where}: no tokens (every request would be refused)`);
  return entries;
}

/**
 * The tokens of `--auth-token-file` and their roles. Lookups hash the presented token and compare it
 * with every entry in constant time, so neither the match nor its position leaks through timing.
 * Tokens are kept only as digests and never logged.
 */
export class TokenAuth {
  private entries: readonly Entry[];

  constructor(private readonly path: string) {
    this.entries = TokenAuth.load(path);
  }

  /** Re-reads the file (SIGHUP); on an error the old tokens stay and the error is thrown. */
  reload(): number {
    this.entries = TokenAuth.load(this.path);
    return this.entries.length;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The role of `token`, or undefined if it is not in the file. */
  roleOf(token: string): Role | undefined {
    if (token.length > TOKEN_CHARS_MAX) return undefined;
    const digest = digestOf(token);
    let found: Role | undefined;
    for (const e of this.entries) {
      // No early exit: every entry is compared whatever matched.
      if (timingSafeEqual(digest, e.digest) && found === undefined) found = e.role;
    }
    return found;
  }

  private static load(path: string): readonly Entry[] {
    let text: string;
    try {
      const buf = readFileSync(path);
      if (buf.length > TOKEN_FILE_BYTES_MAX) {
        throw new TokenFileError("too_large", `${path}: larger than ${TOKEN_FILE_BYTES_MAX} bytes`);
      }
      text = buf.toString("utf8");
    } catch (err) {
      if (err instanceof TokenFileError) throw err;
      throw new TokenFileError("unreadable", `${path}: ${(err as Error).message}`, { cause: err });
    }
    return parseTokenFile(text, path);
  }
}

/** What the HTTP API and the RESP listener ask of access control: the role of a presented token. */
export interface AccessControl {
  roleOf(token: string): Role | undefined;
}

/** The Bearer token of a request, or undefined without a well-formed Authorization header. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(h);
  return m?.[1];
}

/**
 * Throws 401 unauthorized without a known token, 403 forbidden when its role is below `need`.
 * Without access control every request passes.
 */
export function authorize(
  access: AccessControl | undefined,
  req: IncomingMessage,
  need: Role | "none",
  refused: (reason: "unauthorized" | "forbidden") => void,
): void {
  if (access === undefined || need === "none") return;
  const token = bearerToken(req);
  const role = token === undefined ? undefined : access.roleOf(token);
  if (role === undefined) {
    refused("unauthorized");
    throw new ApiError("unauthorized", "a valid Authorization: Bearer token is required");
  }
  if (!roleAllows(role, need)) {
    refused("forbidden");
    throw new ApiError("forbidden", `this needs the ${need} role; the token has ${role}`);
  }
}
