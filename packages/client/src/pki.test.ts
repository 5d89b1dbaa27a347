import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import asn1 from 'node-forge/lib/asn1.js';
import { bits, explicit, fromDer, integer, ipBytes, oid, pem, seq, toDer } from './der.js';
import { CsrError, makeCA, makeCsr, newKey, parseCsr, signCert, signCsr } from './pki.js';

const tmp = mkdtempSync(join(tmpdir(), 'kemu-pki-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A request made by openssl, as a user following the Kubernetes CSR tutorial makes one. */
function opensslCsr(keyArgs: string[], subj: string): string {
  const out = join(tmp, 'req.csr');
  execFileSync('openssl', ['req', '-new', ...keyArgs, '-nodes', '-keyout', join(tmp, 'req.key'), '-out', out, '-subj', subj, '-utf8'], { stdio: 'ignore' });
  return readFileSync(out, 'utf8');
}

describe('keys and certificates', () => {
  it('makes ECDSA P-256 keys (SEC 1 PEM) by default and RSA 2048 (PKCS#1) when asked', async () => {
    const [ec, rsa] = await Promise.all([newKey(), newKey('RSA-2048')]);
    expect(ec.pem).toContain('BEGIN EC PRIVATE KEY');
    expect(createPrivateKey(ec.pem).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(rsa.pem).toContain('BEGIN RSA PRIVATE KEY');
  });

  it('signs server certificates with the names clients check, for ECDSA and RSA keys alike', async () => {
    const [caKey, ec, rsa] = await Promise.all([newKey(), newKey(), newKey('RSA-2048')]);
    const ca = makeCA(caKey, 'test-ca');
    const caCert = new X509Certificate(ca.cert);
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe('CN=test-ca');
    for (const k of [ec, rsa]) {
      const c = new X509Certificate(signCert(ca, { commonName: 'kube-apiserver', dnsNames: ['kubernetes'], ips: ['10.96.0.1', '::1'], server: true }, k).cert);
      expect(c.verify(caCert.publicKey)).toBe(true);
      expect(c.checkIssued(caCert)).toBe(true);
      expect(c.ca).toBe(false);
      expect(c.subjectAltName).toBe('DNS:kubernetes, IP Address:10.96.0.1, IP Address:0:0:0:0:0:0:0:1');
      expect(c.checkIP('10.96.0.1')).toBe('10.96.0.1');
      expect(c.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    }
  });
});

describe('certificate signing requests', () => {
  it('a kubelet-style request parses back to its subject and is signed into a client certificate of the CA', async () => {
    const [caKey, k] = await Promise.all([newKey(), newKey()]);
    const ca = makeCA(caKey);
    const pem = makeCsr(k, { commonName: 'system:node:node-1', organizations: ['system:nodes'] });
    expect(pem).toContain('BEGIN CERTIFICATE REQUEST');
    const req = parseCsr(pem);
    expect(req.commonName).toBe('system:node:node-1');
    expect(req.organizations).toEqual(['system:nodes']);
    const now = new Date();
    const cert = new X509Certificate(signCsr(ca, req, ['digital signature', 'client auth'], 3600, now));
    expect(cert.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(cert.subject).toContain('CN=system:node:node-1');
    expect(cert.subject).toContain('O=system:nodes');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(new Date(cert.validTo).getTime()).toBeLessThanOrEqual(now.getTime() + 3600_000);
  });

  it("reads openssl's requests for RSA, ECDSA P-384 and Ed25519 keys, with several O and UTF-8 names, and certifies each key", async () => {
    const ca = makeCA(await newKey());
    const cases = [
      { args: ['-newkey', 'rsa:2048'], subj: '/CN=jane/O=developers/O=ops', cn: 'jane', o: ['developers', 'ops'] },
      { args: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], subj: '/CN=joe/O=équipe', cn: 'joe', o: ['équipe'] },
      { args: ['-newkey', 'ed25519'], subj: '/CN=ed', cn: 'ed', o: [] },
    ];
    for (const c of cases) {
      const req = parseCsr(opensslCsr(c.args, c.subj));
      expect([req.commonName, req.organizations]).toEqual([c.cn, c.o]);
      const cert = new X509Certificate(signCsr(ca, req, ['client auth'], 600));
      expect(cert.checkIssued(new X509Certificate(ca.cert))).toBe(true);
      expect(cert.publicKey.export({ type: 'spki', format: 'der' })).toEqual(
        createPublicKey(readFileSync(join(tmp, 'req.key'))).export({ type: 'spki', format: 'der' }),
      );
    }
  });

  it('refuses what is not a request, and a request whose signature does not hold', async () => {
    expect(() => parseCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n')).toThrow(CsrError);
    expect(() => parseCsr('hello')).toThrow(CsrError);
    const der = Buffer.from(
      makeCsr(await newKey(), { commonName: 'alice', organizations: [] })
        .split('\n')
        .filter((l) => !l.startsWith('-----'))
        .join(''),
      'base64',
    );
    der[der.indexOf('alice')] = 'm'.charCodeAt(0); // "mlice": the subject changed after signing
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => parseCsr(forged)).toThrow('the request is not signed by its own key');
  });
});

describe('what Go would refuse in a request', () => {
  /** A request signed by `k` whose subject is one attribute of ASN.1 string type `tag` holding `raw`, under `alg`. */
  async function oddRequest(tag: number, raw: Buffer, alg = '1.2.840.10045.4.3.2') {
    const k = await newKey();
    const U = asn1.Class.UNIVERSAL;
    const subject = seq(asn1.create(U, asn1.Type.SET, true, [seq(oid('2.5.4.10'), asn1.create(U, tag, false, raw.toString('binary')))]));
    const info = seq(integer(Buffer.of(0)), subject, fromDer(k.spki), explicit(0));
    const sig = sign('sha256', toDer(info), k.pem);
    return pem('CERTIFICATE REQUEST', toDer(seq(info, seq(oid(alg)), bits(sig))));
  }

  it('a name in a UniversalString (whose bytes forge would hand over raw) is refused, not read as something else', async () => {
    const ucs4 = Buffer.concat([...'system:masters'].map((c) => Buffer.of(0, 0, 0, c.charCodeAt(0))));
    const req = await oddRequest(28, ucs4);
    expect(() => parseCsr(req)).toThrow(/not a string of a type X.509 names use/);
  });

  it('UTF-8 that does not decode is a CsrError, not a crash', async () => {
    const req = await oddRequest(asn1.Type.UTF8, Buffer.from([0xc3, 0x28]));
    expect(() => parseCsr(req)).toThrow(CsrError);
  });

  it('a key that does not go with the signature algorithm is refused', async () => {
    const req = await oddRequest(asn1.Type.UTF8, Buffer.from('dev'), '1.2.840.113549.1.1.11');
    expect(() => parseCsr(req)).toThrow(/ec key does not go with/);
  });

  it('writes the subject anew from what it read, and names the CA by its own subject key identifier', async () => {
    const ca = makeCA(await newKey());
    // forge writes a BMPString's characters as UTF-16.
    const req = parseCsr(await oddRequest(asn1.Type.BMPSTRING, Buffer.from('dev')));
    expect(req.organizations).toEqual(['dev']);
    const cert = new X509Certificate(signCsr(ca, req, ['client auth'], 600));
    expect(cert.subject).toBe('O=dev');
    const ski = (c: string) =>
      execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectKeyIdentifier,authorityKeyIdentifier'], { input: c, encoding: 'utf8' });
    const caKeyId = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(ski(ca.cert))![1];
    expect(ski(cert.toString())).toContain(caKeyId);
  });
});

describe('addresses in certificates', () => {
  it.each([
    ['10.96.0.1', '0a600001'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8::8:1', '20010db8000000000000000000080001'],
    ['::ffff:1.2.3.4', '01020304'],
    ['64:ff9b::1.2.3.4', '0064ff9b000000000000000001020304'],
  ])('%s is written as Go writes it', (a, hex) => expect(ipBytes(a).toString('hex')).toBe(hex));

  it('refuses what is not an address', () => expect(() => ipBytes('kubernetes')).toThrow('kubernetes is not an IP address'));
});
