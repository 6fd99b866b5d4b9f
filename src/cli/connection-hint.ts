/** How deep a cause chain is walked (client error → attempt error → socket error). */
const CAUSE_DEPTH_MAX = 8;

/** Node's and OpenSSL's codes for a certificate the client could not verify. */
const TLS_VERIFY_CODE = /CERT|SIGNATURE|SELF_SIGNED|^ERR_TLS_/;

/**
 * What to do about a connection that failed for want of TLS settings, from an error's cause chain:
 * a certificate that did not verify (no --cacert, or the wrong CA), or a plain http:// request that an
 * HTTPS listener cut off without an answer. Undefined for any other failure: "no node answered" alone
 * hid that the nodes did answer, in TLS.
 */
export function connectionHint(err: unknown): string | undefined {
  let plainHttp = false;
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < CAUSE_DEPTH_MAX; depth++, e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && TLS_VERIFY_CODE.test(code))
      return `TLS verification failed (${code}): give the CA that signed the nodes' certificates with --cacert`;
    plainHttp ||= /\bhttp:\/\//.test(e.message);
    if (code === "UND_ERR_SOCKET" && plainHttp)
      return "a node closed the connection without an answer: if the nodes serve HTTPS, give --cacert (a bare endpoint then means https://) or https:// URLs";
  }
  return undefined;
}
