// The CA files of a node's TLS flags are checked when read: Node's TLS silently skips a certificate
// OpenSSL cannot read, so a node given one would start trusting nobody and fail every connection with
// "unable to verify the first certificate" (seen with a CA whose serial was badly encoded: cli/certs).
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import forge from "node-forge";
import { pino } from "pino";
import { loadSecurity, readPeerTls, TlsFileError } from "../../src/node/tls-options.js";

const dir = mkdtempSync(join(tmpdir(), "raftstack-tls-options-"));
const keyPem = generateKeyPairSync("rsa", { modulusLength: 1024 })
  .privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();

/** A self-signed certificate with this serial (hex as forge takes it). */
function certificatePem(serial: string): string {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(0);
  cert.validity.notAfter = new Date(86_400_000);
  cert.setSubject([{ name: "commonName", value: "test CA" }]);
  cert.setIssuer([{ name: "commonName", value: "test CA" }]);
  cert.sign(key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const good = certificatePem("6a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
// forge strips one leading 00: the DER integer starts 00 6a, which OpenSSL refuses (illegal padding).
const badSerial = certificatePem("00006a5a5a5a5a5a5a5a5a5a5a5a5a5a5a");
const peerTls = (ca: string) => ({
  peerTls: { certFile: file("node.pem", good), keyFile: file("node-key.pem", keyPem), trustedCaFile: ca },
});
const rejects = (code: TlsFileError["code"], pattern: RegExp) => (err: unknown) =>
  err instanceof TlsFileError && err.code === code && pattern.test(err.message);

test("a peer CA file whose certificates OpenSSL reads is taken as it is", () => {
  const both = `${good}${good}`;
  assert.equal(readPeerTls(peerTls(file("good-ca.pem", both)))?.ca.toString(), both);
});

test("a CA file with a certificate OpenSSL cannot read stops the start, naming flag, file and certificate", () => {
  const ca = file("bad-ca.pem", `${good}${badSerial}`);
  assert.throws(
    () => readPeerTls(peerTls(ca)),
    rejects(
      "bad_certificate",
      /^--peer-trusted-ca-file .*bad-ca\.pem: certificate 2 of 2 is unreadable: .*illegal padding/,
    ),
  );
  const clientTls = { certFile: file("node.pem", good), keyFile: file("node-key.pem", keyPem) };
  assert.throws(
    () =>
      loadSecurity(
        { clientTls: { ...clientTls, trustedCaFile: ca, clientCertAuth: true } },
        pino({ enabled: false }),
      ),
    rejects("bad_certificate", /^--trusted-ca-file .*certificate 2 of 2 is unreadable/),
  );
});

test("a certificate file OpenSSL cannot read stops the start, naming flag and file", () => {
  const bad = file("bad-node.pem", badSerial);
  const tls = peerTls(file("ca.pem", good)).peerTls;
  assert.throws(
    () => readPeerTls({ peerTls: { ...tls, certFile: bad } }),
    rejects("bad_certificate", /^--peer-cert-file .*bad-node\.pem: certificate 1 of 1 is unreadable/),
  );
  const clientTls = { certFile: bad, keyFile: tls.keyFile, clientCertAuth: false };
  assert.throws(
    () => loadSecurity({ clientTls }, pino({ enabled: false })),
    rejects("bad_certificate", /^--cert-file .*bad-node\.pem: certificate 1 of 1 is unreadable/),
  );
});

test("a CA file without a PEM certificate (a key given by mistake) stops the start", () => {
  assert.throws(
    () => readPeerTls(peerTls(file("key-as-ca.pem", keyPem))),
    rejects("no_certificate", /^--peer-trusted-ca-file .*key-as-ca\.pem holds no PEM certificate$/),
  );
});
