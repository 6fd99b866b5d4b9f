export type DecodeErrorCode = "truncated" | "trailing_bytes" | "bad_value" | "too_large";

/**
 * The only error a Reader raises on malformed bytes. Each format turns it into its own error (the
 * transport's FrameError, the WAL's MalformedRecordError) or into `undefined`, passing it as `cause`.
 */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
  readonly code: DecodeErrorCode;

  constructor(message: string, options: { readonly code?: DecodeErrorCode; readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? "bad_value";
  }
}
