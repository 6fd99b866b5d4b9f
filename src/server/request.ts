import type { IncomingMessage } from "node:http";
import { isStackId } from "../stack/index.js";
import { ApiError, badRequest } from "./errors.js";

/** The parts of the request URL the routes use. */
export type RequestUrl = Pick<URL, "pathname" | "search" | "searchParams">;

/** A path of only these characters is its own WHATWG pathname (nothing to decode or normalize). */
const PLAIN_PATH = /^\/[A-Za-z0-9_/-]*$/;
const NO_PARAMS = new URLSearchParams();

/** `new URL` per request was a visible cost on the leader; plain paths without a query skip it. */
export function requestUrl(raw: string): RequestUrl {
  if (PLAIN_PATH.test(raw)) return { pathname: raw, search: "", searchParams: NO_PARAMS };
  return new URL(raw, "http://localhost");
}

export function bodyTooLarge(bytesMax: number): ApiError {
  return new ApiError("body_too_large", `body exceeds ${bytesMax} bytes`);
}

/** Reads the body up to `bytesMax`; larger bodies are refused without buffering them. */
export function readBody(req: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > bytesMax) return Promise.reject(bodyTooLarge(bytesMax));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      bytes += chunk.length;
      if (bytes > bytesMax) {
        done = true;
        reject(bodyTooLarge(bytesMax));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, bytes));
    });
    req.on("error", (err) => {
      if (done) return;
      done = true;
      reject(err);
    });
  });
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

export function decodeText(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch (err) {
    throw new ApiError("bad_request", "body is not valid UTF-8", { cause: err });
  }
}

export function parseJson(body: Buffer): Record<string, unknown> {
  const text = decodeText(body);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ApiError("bad_request", "body is not valid JSON", { cause: err });
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest("body must be a JSON object");
  return v as Record<string, unknown>;
}

export function stringField(obj: Record<string, unknown>, name: string): string {
  const v = obj[name];
  if (typeof v !== "string") throw badRequest(`"${name}" must be a string`);
  return v;
}

/** A stack id: trimmed, 1..16 digits, a positive safe integer. */
export function parseId(s: string): number {
  const t = s.trim();
  const id = /^[0-9]{1,16}$/.test(t) ? Number(t) : Number.NaN;
  if (!isStackId(id))
    throw badRequest(`stack id must be a positive integer, got ${JSON.stringify(t.slice(0, 40))}`);
  return id;
}

/** The longest `?wait=` a pop may ask for: a long poll, not a subscription. */
export const POP_WAIT_MS_MAX = 60_000;

/** `?wait=5s`, `250ms` or a bare number of seconds; 1 ms to POP_WAIT_MS_MAX. */
export function parseWaitMs(s: string): number {
  const m = /^([0-9]{1,6}(?:\.[0-9]{1,3})?)(ms|s)?$/.exec(s.trim());
  const ms = m === null ? Number.NaN : Math.round(Number(m[1]) * (m[2] === "ms" ? 1 : 1000));
  if (!(ms >= 1 && ms <= POP_WAIT_MS_MAX)) {
    throw badRequest(`wait must be a duration such as 5s or 250ms, at most ${POP_WAIT_MS_MAX / 1000}s`);
  }
  return ms;
}
