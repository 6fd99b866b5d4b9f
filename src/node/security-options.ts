// The security flags of a node (docs/security.md), declared and validated apart from the others so the
// node's flag table only spreads them in.

/** Named like etcd's, so operators' habits carry over. */
export const SECURITY_FLAGS = {
  "auth-token-file": {
    arg: "<file>",
    help: "client tokens, one `token role` per line (roles read, write, admin); re-read on SIGHUP",
    default: "off: every client may do everything",
  },
  "cert-file": {
    arg: "<file>",
    help: "client TLS certificate (PEM): serve HTTPS and RESP over TLS",
    default: "off",
  },
  "key-file": { arg: "<file>", help: "client TLS private key (PEM)", default: "off" },
  "trusted-ca-file": { arg: "<file>", help: "CA (PEM) that signs client certificates", default: "none" },
  "client-cert-auth": { arg: "", help: "require client certificates signed by --trusted-ca-file" },
  "peer-cert-file": {
    arg: "<file>",
    help: "peer TLS certificate (PEM); peer URLs are then https://",
    default: "off",
  },
  "peer-key-file": { arg: "<file>", help: "peer TLS private key (PEM)", default: "off" },
  "peer-trusted-ca-file": {
    arg: "<file>",
    help: "CA (PEM) that signs every member's peer certificate",
    default: "none",
  },
} as const satisfies Record<string, { arg: string; help: string; default?: string }>;

export type SecurityFlag = keyof typeof SECURITY_FLAGS;

/** Paths of the security material; each part is off when absent. */
export interface SecurityOptions {
  readonly authTokenFile?: string;
  /** Client listeners (HTTP, RESP) serve TLS. */
  readonly clientTls?: {
    readonly certFile: string;
    readonly keyFile: string;
    readonly trustedCaFile?: string;
    readonly clientCertAuth: boolean;
  };
  /** Peer connections are mutual TLS. */
  readonly peerTls?: { readonly certFile: string; readonly keyFile: string; readonly trustedCaFile: string };
}

/** A problem in the security flags; the node options turn it into their usage error. */
export class SecurityFlagError extends Error {
  override readonly name = "SecurityFlagError";
  readonly code = "invalid_value";
}

/**
 * Checks that the security flags fit together and with the URLs: TLS needs a certificate and its key,
 * client-cert-auth a CA, peer TLS all three and https:// peer URLs (and https:// peer URLs need peer TLS).
 * `text(flag)` and `on(flag)` read a flag's value, `where(flag)` names where it came from.
 */
export function validateSecurityOptions(
  text: (flag: SecurityFlag) => string | undefined,
  on: (flag: SecurityFlag) => boolean,
  where: (flag: SecurityFlag) => string,
  peerUrls: readonly string[],
): SecurityOptions {
  const pair = (a: SecurityFlag, b: SecurityFlag): [string, string] | undefined => {
    const [x, y] = [text(a), text(b)];
    if ((x === undefined) !== (y === undefined)) {
      throw new SecurityFlagError(`${where(a)} and ${where(b)} go together`);
    }
    return x === undefined || y === undefined ? undefined : [x, y];
  };
  const client = pair("cert-file", "key-file");
  const trustedCaFile = text("trusted-ca-file");
  const clientCertAuth = on("client-cert-auth");
  if (clientCertAuth && (client === undefined || trustedCaFile === undefined)) {
    throw new SecurityFlagError(
      `${where("client-cert-auth")} needs --cert-file, --key-file and --trusted-ca-file`,
    );
  }
  const peer = pair("peer-cert-file", "peer-key-file");
  const peerCa = text("peer-trusted-ca-file");
  if ((peer === undefined) !== (peerCa === undefined)) {
    throw new SecurityFlagError(
      `peer TLS needs ${where("peer-cert-file")}, ${where("peer-key-file")} and ${where("peer-trusted-ca-file")}`,
    );
  }
  const https = peerUrls.filter((u) => u.startsWith("https://")).length;
  if (peer !== undefined && https !== peerUrls.length) {
    throw new SecurityFlagError("with peer TLS every --cluster URL is https://");
  }
  if (peer === undefined && https > 0) {
    throw new SecurityFlagError(
      "https:// peer URLs need --peer-cert-file, --peer-key-file and --peer-trusted-ca-file",
    );
  }
  const authTokenFile = text("auth-token-file");
  return {
    ...(authTokenFile === undefined ? {} : { authTokenFile }),
    ...(client === undefined
      ? {}
      : {
          clientTls: {
            certFile: client[0],
            keyFile: client[1],
            ...(trustedCaFile === undefined ? {} : { trustedCaFile }),
            clientCertAuth,
          },
        }),
    ...(peer === undefined || peerCa === undefined
      ? {}
      : { peerTls: { certFile: peer[0], keyFile: peer[1], trustedCaFile: peerCa } }),
  };
}
