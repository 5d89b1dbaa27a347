/**
 * Encryption at rest of stored values, as kube-apiserver's
 * k8s.io/apiserver/pkg/storage/value does it: a value is written by the
 * first provider and read by whichever provider's prefix it carries.
 *
 * - aescbc: `k8s:enc:aescbc:v1:<key name>:` + a random 16-byte IV + AES-CBC
 *   of the value with PKCS#7 padding.
 * - aesgcm: `k8s:enc:aesgcm:v1:<key name>:` + a random 12-byte nonce +
 *   AES-GCM of the value (its 16-byte tag last), authenticated with the etcd
 *   key, so a value copied under another key does not decrypt.
 * - identity: the value as it is, no prefix; it refuses to read a value that
 *   carries `k8s:enc:` (encrypted data whose key is no longer configured).
 *
 * Pure but for the random IVs and nonces; the crypto is Node's.
 */
import { createCipheriv, createDecipheriv, randomBytes, type CipherGCMTypes } from 'node:crypto';

/** What a value is read and written with; `key` is the etcd key (aesgcm's authenticated data). */
export interface ValueTransformer {
  toStorage(plain: Buffer, key: string): Buffer;
  fromStorage(stored: Buffer, key: string): Buffer;
}

/** A value that no provider can read (a wrong or missing key, corrupt data): an internal error to the client. */
export class TransformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformError';
  }
}

/** Every encrypted value kube-apiserver writes starts with this. */
export const ENCRYPTED_PREFIX = 'k8s:enc:';

const BLOCK = 16;
const GCM_NONCE = 12;
const GCM_TAG = 16;

/** The AES key size in bits (kube-apiserver accepts 16, 24 and 32-byte keys). */
function aesBits(key: Buffer): 128 | 192 | 256 {
  if (key.length === 16) return 128;
  if (key.length === 24) return 192;
  if (key.length === 32) return 256;
  throw new TransformError(`invalid AES key size ${key.length} (16, 24 or 32 bytes)`);
}

/** AES-CBC with PKCS#7 padding, the IV in front. */
export function aescbc(key: Buffer): ValueTransformer {
  const algorithm = `aes-${aesBits(key)}-cbc`;
  return {
    toStorage(plain) {
      const iv = randomBytes(BLOCK);
      const c = createCipheriv(algorithm, key, iv);
      return Buffer.concat([iv, c.update(plain), c.final()]);
    },
    fromStorage(stored) {
      if (stored.length < BLOCK) throw new TransformError('the stored data was shorter than the required size');
      const data = stored.subarray(BLOCK);
      if (data.length % BLOCK !== 0) throw new TransformError('the stored data is not a multiple of the block size');
      const d = createDecipheriv(algorithm, key, stored.subarray(0, BLOCK));
      // Node's own padding check would say "bad decrypt"; kube-apiserver's messages are kept instead.
      d.setAutoPadding(false);
      const out = Buffer.concat([d.update(data), d.final()]);
      const pad = out.length ? out[out.length - 1] : 0;
      if (pad === 0 || pad > BLOCK || pad > out.length) throw new TransformError('invalid PKCS7 data (empty or not padded)');
      for (let i = out.length - pad; i < out.length; i++) if (out[i] !== pad) throw new TransformError('invalid padding on input');
      return out.subarray(0, out.length - pad);
    },
  };
}

/** AES-GCM, a random 96-bit nonce in front, the etcd key as authenticated data. */
export function aesgcm(key: Buffer): ValueTransformer {
  const algorithm: CipherGCMTypes = `aes-${aesBits(key)}-gcm`;
  return {
    toStorage(plain, etcdKey) {
      const nonce = randomBytes(GCM_NONCE);
      const c = createCipheriv(algorithm, key, nonce);
      c.setAAD(Buffer.from(etcdKey));
      return Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
    },
    fromStorage(stored, etcdKey) {
      if (stored.length < GCM_NONCE + GCM_TAG) throw new TransformError('the stored data was shorter than the required size');
      const d = createDecipheriv(algorithm, key, stored.subarray(0, GCM_NONCE));
      d.setAAD(Buffer.from(etcdKey));
      d.setAuthTag(stored.subarray(stored.length - GCM_TAG));
      try {
        return Buffer.concat([d.update(stored.subarray(GCM_NONCE, stored.length - GCM_TAG)), d.final()]);
      } catch {
        // Go's crypto/cipher says so when the tag does not match (a wrong key, another etcd key, tampering).
        throw new TransformError('cipher: message authentication failed');
      }
    },
  };
}

/** The value unchanged; an encrypted one is refused rather than handed out as if it were plain. */
export const identity: ValueTransformer = {
  toStorage: (plain) => plain,
  fromStorage(stored) {
    if (stored.subarray(0, ENCRYPTED_PREFIX.length).toString('latin1') === ENCRYPTED_PREFIX)
      throw new TransformError('identity transformer tried to read encrypted data');
    return stored;
  },
};

/** A transformer behind the prefix that names it in stored values ('' for identity). */
export interface PrefixedTransformer {
  prefix: string;
  transformer: ValueTransformer;
}

/**
 * kube-apiserver's prefix transformers: the first writes (its prefix in
 * front), a read goes to the first whose prefix the value starts with.
 */
export function prefixTransformers(list: PrefixedTransformer[]): ValueTransformer {
  if (!list.length) throw new TransformError('no providers');
  const [first] = list;
  const firstPrefix = Buffer.from(first.prefix);
  const prefixes = list.map((p) => ({ ...p, bytes: Buffer.from(p.prefix) }));
  return {
    toStorage: (plain, key) => Buffer.concat([firstPrefix, first.transformer.toStorage(plain, key)]),
    fromStorage(stored, key) {
      let identityError: Error | undefined;
      for (const p of prefixes) {
        if (stored.length < p.bytes.length || !stored.subarray(0, p.bytes.length).equals(p.bytes)) continue;
        if (p.bytes.length) return p.transformer.fromStorage(stored.subarray(p.bytes.length), key);
        // identity above an encrypting provider (migrating away from encryption): encrypted data goes on to the next.
        try {
          return p.transformer.fromStorage(stored, key);
        } catch (e) {
          identityError = e as Error;
        }
      }
      throw identityError ?? new TransformError('no matching prefix found');
    },
  };
}
