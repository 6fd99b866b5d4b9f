import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { TlsOptions } from "node:tls";
import type { Logger } from "pino";
import { TokenAuth, TokenFileError } from "../server/index.js";
import type { PeerTls } from "../transport/index.js";
import { type NodeOptions, nodeDefaults } from "./options.js";
import type { SecurityOptions } from "./security-options.js";

/** The security material of a node, read from the files its flags name. */
export interface LoadedSecurity {
  readonly access?: TokenAuth;
  /** For the HTTPS and RESP-over-TLS listeners. */
  readonly clientTls?: TlsOptions;
  /** Stops the SIGHUP reload. */
  close(): void;
}

/** A TLS file the node cannot use: unreadable, or a certificate file without certificates OpenSSL reads. */
export class TlsFileError extends Error {
  override readonly name = "TlsFileError";
  constructor(
    readonly code: "unreadable_file" | "no_certificate" | "bad_certificate",
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsFileError("unreadable_file", `cannot read ${what} ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

/**
 * Reads a certificate or CA file and checks that OpenSSL reads each certificate in it. Node's TLS
 * silently skips a CA it cannot read (another file given by mistake, a certificate with a badly encoded
 * serial): the node would start trusting nobody and fail every connection with "unable to verify the
 * first certificate". An unreadable own certificate would fail later, without naming its file.
 */
function readCertificates(path: string, what: string): Buffer {
  const pem = read(path, what);
  const blocks = pem.toString("latin1").match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0)
    throw new TlsFileError("no_certificate", `${what} ${path} holds no PEM certificate`);
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (err) {
      const reason = (err as Error).message;
      throw new TlsFileError(
        "bad_certificate",
        `${what} ${path}: certificate ${i + 1} of ${blocks.length} is unreadable: ${reason}`,
        { cause: err },
      );
    }
  });
  return pem;
}

/** Peer mTLS material, or undefined without peer TLS. */
export function readPeerTls(security: SecurityOptions | undefined): PeerTls | undefined {
  const p = security?.peerTls;
  if (p === undefined) return undefined;
  return {
    cert: readCertificates(p.certFile, "--peer-cert-file"),
    key: read(p.keyFile, "--peer-key-file"),
    ca: readCertificates(p.trustedCaFile, "--peer-trusted-ca-file"),
  };
}

/**
 * Reads the token file and client TLS files. The token file is re-read on SIGHUP: a bad file keeps the
 * old tokens and logs why (never a token).
 */
export function loadSecurity(security: SecurityOptions | undefined, logger: Logger): LoadedSecurity {
  const access = security?.authTokenFile === undefined ? undefined : new TokenAuth(security.authTokenFile);
  const onHup = () => {
    try {
      logger.info({ tokens: access?.reload() }, "auth token file re-read");
    } catch (err) {
      if (!(err instanceof TokenFileError)) throw err;
      logger.error({ code: err.code, reason: err.message }, "auth token file not re-read; old tokens stay");
    }
  };
  if (access !== undefined) process.on("SIGHUP", onHup);
  const c = security?.clientTls;
  let clientTls: TlsOptions | undefined;
  if (c !== undefined) {
    const cert = readCertificates(c.certFile, "--cert-file");
    const key = read(c.keyFile, "--key-file");
    const ca =
      c.trustedCaFile === undefined ? undefined : readCertificates(c.trustedCaFile, "--trusted-ca-file");
    clientTls = {
      cert,
      key,
      minVersion: "TLSv1.2",
      ...(ca === undefined ? {} : { ca }),
      ...(c.clientCertAuth ? { requestCert: true, rejectUnauthorized: true } : {}),
    };
  }
  return {
    ...(access === undefined ? {} : { access }),
    ...(clientTls === undefined ? {} : { clientTls }),
    close: () => process.off("SIGHUP", onHup),
  };
}

function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/**
 * The start-up warnings of a node, by the addresses its listeners bind: the peer listener binds
 * --listen-peer-url, which may be every interface while the advertised --cluster URL is a loopback one.
 */
export function startupWarnings(
  options: Pick<NodeOptions, "listenClient" | "listenPeerUrl" | "security" | "clusterToken">,
): string[] {
  const peerHost = new URL(options.listenPeerUrl).hostname.replace(/^\[(.*)\]$/, "$1");
  const out = securityWarnings(options.listenClient.host, peerHost, options.security);
  // The handshake's cluster id comes from the token alone (docs/operations.md): on a network, two clusters
  // left on the default token take each other's nodes for their own when an address is mixed up.
  if (!isLoopback(peerHost) && options.clusterToken === nodeDefaults.clusterToken) {
    out.push(
      `peer listener on ${peerHost} with the default --cluster-token: a node of another cluster on the ` +
        "default token is taken for a member; give each cluster its own token",
    );
  }
  return out;
}

/** The start-up warnings of docs/security.md: a non-loopback listener without TLS or without tokens. */
export function securityWarnings(
  clientHost: string,
  peerHost: string,
  security: SecurityOptions | undefined,
): string[] {
  const out: string[] = [];
  if (!isLoopback(clientHost)) {
    if (security?.clientTls === undefined) {
      out.push(`client listener on ${clientHost} without TLS: anyone on the network can read the traffic`);
    }
    if (security?.authTokenFile === undefined) {
      out.push(
        `client listener on ${clientHost} without --auth-token-file: anyone who reaches it can delete every stack`,
      );
    }
  }
  if (!isLoopback(peerHost) && security?.peerTls === undefined) {
    out.push(
      `peer listener on ${peerHost} without peer TLS: anyone who reaches it can speak the Raft protocol`,
    );
  }
  return out;
}
