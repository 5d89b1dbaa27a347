import { describe, expect, it } from 'vitest';
import { aescbc, aesgcm, identity, prefixTransformers } from './value-transformer.js';
import { parseEncryptionConfig } from './encryption-config.js';

const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const PLAIN = '{"kind":"Secret","apiVersion":"v1","metadata":{"name":"s1","namespace":"default"},"data":{"password":"aHVudGVyMg=="}}';
const ETCD_KEY = '/registry/secrets/default/s1';

// Made outside Node: `openssl enc -aes-256-cbc -K 0001..1f -iv a0a1..af` of PLAIN, the IV in front (kube-apiserver's layout).
const CBC_VECTOR =
  'oKGio6SlpqeoqaqrrK2ur9pU6IHq+uaPNKot2wDla1I3JyGlWolzIYc+zgb3Gc3Ibt9ubwdlsV9F6OmyxTLTEpNr5EI3itqspROl5p05uYbcS1/jGHqt0vltpOJUNIQojgs5euB+g1i3BbiNS/6aLxUE2XYehVDyIRT75ZteeC0KLk98anbVTAMN3jApvpwz';
// Made with Python's cryptography AESGCM: nonce b0..bb, the etcd key as associated data, the nonce in front.
const GCM_VECTOR =
  'sLGys7S1tre4ubq74ncxwoKpmWVlq/LBvzj84KgeKKJ8eOpHLaftn3640GA0aQ8YDrvS2cE61Cseg/mXQwx6ojkBYIN8qEASavpNmsGYX9dvnlz4fbnEP+tqlhM7vOvWyQwU/8+AWuBKKnzIDNIaefT1V14IO36bxKON5zCLleoOAp9StplTOcLs5u2YPoUEFg==';

describe('aescbc', () => {
  it('decrypts a value made by another implementation of the algorithm', () => {
    expect(aescbc(KEY).fromStorage(Buffer.from(CBC_VECTOR, 'base64'), ETCD_KEY).toString()).toBe(PLAIN);
  });
  it('writes IV + whole blocks, a fresh IV each time, and reads its own values back', () => {
    const t = aescbc(KEY);
    const a = t.toStorage(Buffer.from(PLAIN), ETCD_KEY);
    const b = t.toStorage(Buffer.from(PLAIN), ETCD_KEY);
    expect(a.length % 16).toBe(0);
    expect(a.length).toBe(16 + Math.ceil((PLAIN.length + 1) / 16) * 16);
    expect(a.equals(b)).toBe(false);
    expect(t.fromStorage(a, ETCD_KEY).toString()).toBe(PLAIN);
    // A block-aligned value gets a whole block of padding.
    expect(t.toStorage(Buffer.alloc(16, 1), ETCD_KEY).length).toBe(48);
    expect(t.fromStorage(t.toStorage(Buffer.alloc(0), ETCD_KEY), ETCD_KEY).length).toBe(0);
  });
  it('refuses data that is short, not whole blocks, or decrypted with another key', () => {
    const t = aescbc(KEY);
    expect(() => t.fromStorage(Buffer.alloc(8), ETCD_KEY)).toThrow('shorter than the required size');
    expect(() => t.fromStorage(Buffer.alloc(40), ETCD_KEY)).toThrow('not a multiple of the block size');
    expect(() => aescbc(Buffer.alloc(32, 7)).fromStorage(Buffer.from(CBC_VECTOR, 'base64'), ETCD_KEY)).toThrow(/padding|PKCS7/);
  });
  it('takes 16, 24 and 32 byte keys only', () => {
    for (const n of [16, 24, 32])
      expect(
        aescbc(Buffer.alloc(n))
          .fromStorage(aescbc(Buffer.alloc(n)).toStorage(Buffer.from('x'), ''), '')
          .toString(),
      ).toBe('x');
    expect(() => aescbc(Buffer.alloc(20))).toThrow('invalid AES key size 20');
  });
});

describe('aesgcm', () => {
  it('decrypts a value made by another implementation, authenticated by its etcd key', () => {
    const stored = Buffer.from(GCM_VECTOR, 'base64');
    expect(aesgcm(KEY).fromStorage(stored, ETCD_KEY).toString()).toBe(PLAIN);
    // The same bytes under another key (copied there by someone who can write etcd) do not decrypt.
    expect(() => aesgcm(KEY).fromStorage(stored, '/registry/secrets/default/other')).toThrow('message authentication failed');
  });
  it('round-trips with a fresh nonce', () => {
    const t = aesgcm(KEY);
    const a = t.toStorage(Buffer.from(PLAIN), ETCD_KEY);
    expect(a.length).toBe(12 + PLAIN.length + 16);
    expect(a.equals(t.toStorage(Buffer.from(PLAIN), ETCD_KEY))).toBe(false);
    expect(t.fromStorage(a, ETCD_KEY).toString()).toBe(PLAIN);
  });
});

describe('prefix transformers', () => {
  const cbc = { prefix: 'k8s:enc:aescbc:v1:key1:', transformer: aescbc(KEY) };
  const old = { prefix: 'k8s:enc:aescbc:v1:key0:', transformer: aescbc(Buffer.alloc(32, 9)) };
  const id = { prefix: '', transformer: identity };
  it('writes with the first, prefixed', () => {
    const t = prefixTransformers([cbc, id]);
    const stored = t.toStorage(Buffer.from(PLAIN), ETCD_KEY);
    expect(stored.subarray(0, cbc.prefix.length).toString()).toBe(cbc.prefix);
    expect(stored.includes(Buffer.from('aHVudGVyMg=='))).toBe(false);
    expect(t.fromStorage(stored, ETCD_KEY).toString()).toBe(PLAIN);
  });
  it('reads the vector behind its prefix, values of an older key, and plaintext through identity', () => {
    const t = prefixTransformers([cbc, old, id]);
    expect(t.fromStorage(Buffer.concat([Buffer.from(cbc.prefix), Buffer.from(CBC_VECTOR, 'base64')]), ETCD_KEY).toString()).toBe(PLAIN);
    const byOld = prefixTransformers([old]).toStorage(Buffer.from('old'), ETCD_KEY);
    expect(t.fromStorage(byOld, ETCD_KEY).toString()).toBe('old');
    expect(t.fromStorage(Buffer.from(PLAIN), ETCD_KEY).toString()).toBe(PLAIN);
  });
  it('never hands out encrypted data as plaintext', () => {
    const stored = prefixTransformers([cbc]).toStorage(Buffer.from(PLAIN), ETCD_KEY);
    expect(() => prefixTransformers([id]).fromStorage(stored, ETCD_KEY)).toThrow('identity transformer tried to read encrypted data');
    expect(() => prefixTransformers([cbc]).fromStorage(Buffer.from(PLAIN), ETCD_KEY)).toThrow('no matching prefix found');
    // identity first (turning encryption off): encrypted values still read through the provider after it.
    expect(prefixTransformers([id, cbc]).fromStorage(stored, ETCD_KEY).toString()).toBe(PLAIN);
  });
});

describe('EncryptionConfiguration', () => {
  const secret = KEY.toString('base64');
  const config = (providers: string, resources = '[secrets]') =>
    `apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\nresources:\n  - resources: ${resources}\n    providers:\n${providers}`;
  const cbcThenIdentity = config(`      - aescbc: {keys: [{name: key1, secret: ${secret}}]}\n      - identity: {}\n`);

  it('encrypts the resources it names, with the prefix kube-apiserver writes, and nothing else', () => {
    const c = parseEncryptionConfig(cbcThenIdentity);
    const t = c.forKey(ETCD_KEY)!;
    expect(t.toStorage(Buffer.from(PLAIN), ETCD_KEY).subarray(0, 23).toString()).toBe('k8s:enc:aescbc:v1:key1:');
    expect(t.fromStorage(Buffer.from(PLAIN), ETCD_KEY).toString()).toBe(PLAIN);
    expect(c.forKey('/registry/configmaps/default/s1')).toBeUndefined();
    expect(c.forKey('/registry/secretsx/a')).toBeUndefined();
  });
  it('reads aesgcm values behind their prefix; *.* covers every resource', () => {
    const c = parseEncryptionConfig(config(`      - aesgcm: {keys: [{name: k, secret: ${secret}}]}\n`, "['*.*']"));
    const stored = Buffer.concat([Buffer.from('k8s:enc:aesgcm:v1:k:'), Buffer.from(GCM_VECTOR, 'base64')]);
    expect(c.forKey(ETCD_KEY)!.fromStorage(stored, ETCD_KEY).toString()).toBe(PLAIN);
    expect(c.forKey('/registry/pods/default/p')).toBeDefined();
  });
  it.each([
    ['kind: Foo\napiVersion: apiserver.config.k8s.io/v1\nresources: [{resources: [secrets], providers: [{identity: {}}]}]', 'kind: Invalid value: "Foo"'],
    [config('      - aescbc: {keys: [{name: k, secret: c2hvcnQ=}]}\n'), 'secret is not of the expected length, got 5, expected one of [16 24 32]'],
    [config('      - aescbc: {keys: [{name: k, secret: "not base64!"}]}\n'), 'secrets must be base64 encoded'],
    [config('      - aescbc: {keys: []}\n'), 'resources[0].providers[0].aescbc.keys: Required value'],
    [config('      - kms: {name: x}\n'), 'Unsupported value: "kms"'],
    [config(`      - {identity: {}, aescbc: {keys: [{name: k, secret: ${secret}}]}}\n`), 'more than one provider specified in a single element'],
    [config('      - identity: {}\n', '[secrets, secrets]'), 'resources[0].resources[1]: Duplicate value: "secrets"'],
    ['{', 'invalid encryption configuration'],
  ])('refuses a bad configuration (%#)', (text, message) => {
    expect(() => parseEncryptionConfig(text)).toThrow(message);
  });
});
