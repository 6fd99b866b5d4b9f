// `raftstack certs` (makeDevCerts): every certificate it writes must be one OpenSSL reads. Its serial
// numbers are random, so a bad encoding of some of them breaks only some runs: a CA that OpenSSL cannot
// read is silently not trusted (every TLS connection fails "unable to verify the first certificate"),
// a node certificate that it cannot read fails the node's start.
import assert from "node:assert/strict";
import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import forge from "node-forge";
import { addDevNodeCert, certFiles, makeDevCerts, serialNumberHex } from "../../src/cli/certs.js";

test("serials from any random bytes are positive DER integers OpenSSL reads", { timeout: 30_000 }, () => {
  // One small key signs every probe: the serial's encoding is what is tested, not the key.
  const pem = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  });
  const key = forge.pki.privateKeyFromPem(pem.toString()) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // The leading two bytes decide the encoding: a zero byte, a byte with its top bit set, and the bytes
  // that once broke a run (00 6a: the DER integer began 00 6a, which OpenSSL refuses as illegal padding).
  const edges = [0x00, 0x01, 0x3f, 0x40, 0x6a, 0x7f, 0x80, 0xff];
  for (const first of edges) {
    for (const second of edges) {
      const random = Buffer.alloc(16, 0x5a);
      random[0] = first;
      random[1] = second;
      const serial = serialNumberHex(random);
      const cert = forge.pki.createCertificate();
      cert.publicKey = publicKey;
      cert.serialNumber = serial;
      cert.validity.notBefore = new Date(0);
      cert.validity.notAfter = new Date(86_400_000);
      cert.setSubject([{ name: "commonName", value: "probe" }]);
      cert.setIssuer([{ name: "commonName", value: "probe" }]);
      cert.sign(key, forge.md.sha256.create());
      const bytes = random.toString("hex");
      let read: X509Certificate;
      try {
        read = new X509Certificate(forge.pki.certificateToPem(cert));
      } catch (err) {
        assert.fail(`random bytes ${bytes}: serial ${serial} is unreadable: ${(err as Error).message}`);
      }
      const value = BigInt(`0x${read.serialNumber}`);
      assert.ok(value > 0n, `random bytes ${bytes}: serial ${read.serialNumber} is not positive`);
      assert.equal(value, BigInt(`0x${serial}`), `random bytes ${bytes}: serial changed in encoding`);
      // 16 octets (RFC 5280 4.1.2.2 allows up to 20): none of the random bytes lost, no padding added.
      assert.equal(read.serialNumber.length, 32, `random bytes ${bytes}: serial ${read.serialNumber}`);
    }
  }
});

test("makeDevCerts writes certificates OpenSSL reads, signed by its CA", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-certs-"));
  makeDevCerts({ dir, nodes: 2 });
  const f = certFiles(dir);
  const ca = new X509Certificate(readFileSync(f.ca));
  assert.ok(ca.ca && ca.checkIssued(ca) && ca.verify(ca.publicKey), "the CA is self-signed");
  for (const path of [f.node(1), f.node(2), f.client]) {
    const leaf = new X509Certificate(readFileSync(path));
    assert.ok(!leaf.ca && leaf.checkIssued(ca) && leaf.verify(ca.publicKey), `${path} is issued by the CA`);
  }
  assert.equal(new X509Certificate(readFileSync(f.node(1))).checkIP("127.0.0.1"), "127.0.0.1");
});

test("addDevNodeCert signs a later node's certificate with the same CA", { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "raftstack-certs-"));
  makeDevCerts({ dir, nodes: 1 });
  const f = certFiles(dir);
  const ca = new X509Certificate(readFileSync(f.ca));
  addDevNodeCert(dir, 4);
  const node4 = new X509Certificate(readFileSync(f.node(4)));
  assert.ok(!node4.ca && node4.checkIssued(ca) && node4.verify(ca.publicKey), "node 4 is issued by the CA");
  assert.equal(node4.checkIP("127.0.0.1"), "127.0.0.1");
  assert.ok(node4.subject.includes("raftstack node 4"), node4.subject);
  const again = readFileSync(f.node(4), "utf8");
  addDevNodeCert(dir, 4);
  assert.equal(readFileSync(f.node(4), "utf8"), again, "an existing certificate is kept");
});
