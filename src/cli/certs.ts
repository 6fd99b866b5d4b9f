// `raftstack certs`: a CA and per-node certificates for a development cluster (docs/security.md).
// Built on node-forge (pure JavaScript, no binaries, maintained): keys come from node:crypto, forge
// only assembles and signs the X.509 certificates, which node:crypto cannot do.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join } from "node:path";
import forge from "node-forge";

/** Development certificates live a year: long enough to forget, short enough not to matter. */
const VALID_DAYS = 365;
const RSA_BITS = 2048;

export interface DevCertsOptions {
  readonly dir: string;
  readonly nodes: number;
  /** Names and addresses every node certificate is valid for, besides localhost, 127.0.0.1 and ::1. */
  readonly hosts?: readonly string[];
}

/** The files `raftstack certs` writes, by role. */
export const certFiles = (dir: string) => ({
  ca: join(dir, "ca.pem"),
  caKey: join(dir, "ca-key.pem"),
  node: (id: number) => join(dir, `node-${id}.pem`),
  nodeKey: (id: number) => join(dir, `node-${id}-key.pem`),
  client: join(dir, "client.pem"),
  clientKey: join(dir, "client-key.pem"),
});

/**
 * A certificate serial number (hex, as forge takes it) from 16 random bytes: a positive DER integer of
 * exactly 16 octets. forge writes the bytes as given, stripping at most one leading 0x00, and OpenSSL
 * refuses any integer that still starts 00 followed by a byte below 0x80 ("illegal padding"): the CA
 * is then silently not trusted, a node certificate fails to load. The first octet is 0x40-0x7f: its
 * top bit clear (positive), never zero (no padding); 126 random bits remain.
 */
export function serialNumberHex(random: Uint8Array): string {
  if (random.length !== 16) throw new RangeError(`a serial takes 16 random bytes, got ${random.length}`);
  const bytes = Buffer.from(random);
  bytes[0] = 0x40 | (bytes[0]! & 0x3f);
  return bytes.toString("hex");
}

function keyPair(): forge.pki.rsa.KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: RSA_BITS,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return {
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
  };
}

function certificate(
  subject: string,
  keys: forge.pki.rsa.KeyPair,
  issuer: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey } | undefined,
  extensions: object[],
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumberHex(randomBytes(16));
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000);
  cert.validity.notAfter = new Date(now.getTime() + VALID_DAYS * 86_400_000);
  const attrs = [
    { name: "commonName", value: subject },
    { name: "organizationName", value: "raftstack dev" },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(issuer === undefined ? attrs : issuer.cert.subject.attributes);
  cert.setExtensions(extensions);
  cert.sign(issuer?.key ?? keys.privateKey, forge.md.sha256.create());
  return cert;
}

type Issuer = { readonly cert: forge.pki.Certificate; readonly key: forge.pki.rsa.PrivateKey };

/**
 * A certificate signed by `issuer`: with `hosts`, valid for those names and addresses (a node's, for its
 * listeners and its peer connections both ways); without, a client's.
 */
function leaf(name: string, issuer: Issuer, hosts: readonly string[] | undefined) {
  const keys = keyPair();
  const altNames = hosts?.map((h) => (isIP(h) === 0 ? { type: 2, value: h } : { type: 7, ip: h }));
  const cert = certificate(name, keys, issuer, [
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: altNames !== undefined, clientAuth: true },
    ...(altNames === undefined ? [] : [{ name: "subjectAltName", altNames }]),
  ]);
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

function nodeHosts(hosts: readonly string[] | undefined): string[] {
  return ["localhost", "127.0.0.1", "::1", ...(hosts ?? [])];
}

function writeNodeCert(dir: string, id: number, issuer: Issuer, hosts: readonly string[] | undefined): void {
  const files = certFiles(dir);
  const { cert, key } = leaf(`raftstack node ${id}`, issuer, nodeHosts(hosts));
  write(files.node(id), cert, false);
  write(files.nodeKey(id), key, true);
}

function write(path: string, pem: string, secret: boolean): void {
  writeFileSync(path, pem, { mode: secret ? 0o600 : 0o644 });
  if (secret) chmodSync(path, 0o600);
}

/**
 * Writes a CA, a certificate per node (for its client listener, and for its peer connections in both
 * directions: serverAuth and clientAuth) and a client certificate for the CLI. Existing files are left
 * alone unless `overwrite`; returns false then.
 */
export function makeDevCerts(opts: DevCertsOptions, overwrite = false): boolean {
  const files = certFiles(opts.dir);
  if (existsSync(files.ca) && !overwrite) return false;
  mkdirSync(opts.dir, { recursive: true });
  const caKeys = keyPair();
  const ca = certificate("raftstack dev CA", caKeys, undefined, [
    { name: "basicConstraints", cA: true, critical: true, pathLenConstraint: 0 },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  const issuer = { cert: ca, key: caKeys.privateKey };
  write(files.ca, forge.pki.certificateToPem(ca), false);
  write(files.caKey, forge.pki.privateKeyToPem(caKeys.privateKey), true);
  for (let id = 1; id <= opts.nodes; id++) writeNodeCert(opts.dir, id, issuer, opts.hosts);
  const client = leaf("raftstack client", issuer, undefined);
  write(files.client, client.cert, false);
  write(files.clientKey, client.key, true);
  return true;
}

/**
 * Writes the certificate of node `id` (one added to a running cluster), signed by the CA that
 * `makeDevCerts` left in `dir`, valid for localhost and `hosts`. An existing one is kept.
 */
export function addDevNodeCert(dir: string, id: number, hosts?: readonly string[]): void {
  const files = certFiles(dir);
  if (existsSync(files.node(id)) && existsSync(files.nodeKey(id))) return;
  const issuer = {
    cert: forge.pki.certificateFromPem(readFileSync(files.ca, "utf8")),
    key: forge.pki.privateKeyFromPem(readFileSync(files.caKey, "utf8")) as forge.pki.rsa.PrivateKey,
  };
  writeNodeCert(dir, id, issuer, hosts);
}

/** The TLS flags of node `id` of a cluster whose certificates `raftstack certs` wrote to `dir`. */
export function tlsNodeArgs(dir: string, id: number): string[] {
  const f = certFiles(dir);
  return [
    "--cert-file",
    f.node(id),
    "--key-file",
    f.nodeKey(id),
    "--trusted-ca-file",
    f.ca,
    "--peer-cert-file",
    f.node(id),
    "--peer-key-file",
    f.nodeKey(id),
    "--peer-trusted-ca-file",
    f.ca,
  ];
}
