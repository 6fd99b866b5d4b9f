import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import type { ClientOptions } from "../client/index.js";

/** The client commands' credentials: a Bearer token and TLS files (docs/security.md). */
export interface CredentialFlags {
  readonly token?: string;
  readonly cacert?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** Like etcdctl's and curl's: --token, --cacert, --cert, --key; the token also from RAFTSTACK_TOKEN. */
export function withCredentials(cmd: Command): Command {
  return cmd
    .addOption(
      new Option("--token <token>", "access token (sent as Authorization: Bearer)").env("RAFTSTACK_TOKEN"),
    )
    .option("--cacert <file>", "CA (PEM) that signed the nodes' certificates, for https:// endpoints")
    .option("--cert <file>", "client certificate (PEM), when the nodes require one")
    .option("--key <file>", "client certificate's private key (PEM)");
}

/** The client options the flags ask for, with the TLS files read. */
export function credentialsOf(flags: CredentialFlags): Pick<ClientOptions, "token" | "tls"> {
  const file = (path: string | undefined) => (path === undefined ? undefined : readFileSync(path));
  const [ca, cert, key] = [file(flags.cacert), file(flags.cert), file(flags.key)];
  const tls = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
  return {
    ...(flags.token === undefined ? {} : { token: flags.token }),
    ...(Object.keys(tls).length === 0 ? {} : { tls }),
  };
}

/**
 * What to do about a node's 401 (no token, or one it does not know) or 403 (the token's role is too
 * low), an API answer or a proxy's: undefined for any other status.
 */
export function tokenHint(status: number): string | undefined {
  if (status === 401) return "pass a token with --token or set RAFTSTACK_TOKEN";
  if (status === 403)
    return "pass a token with the role this command needs with --token or set RAFTSTACK_TOKEN";
  return undefined;
}
