import { describe, expect, it } from 'vitest';
import { decodeMessage, decodeProtobuf } from './decode.js';

// Minimal protobuf writer for fixtures.
const varint = (n: number) => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
};
const field = (num: number, payload: Buffer | string | number): Buffer => {
  if (typeof payload === 'number') return Buffer.from([...varint((num << 3) | 0), ...varint(payload)]);
  const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  return Buffer.concat([Buffer.from([...varint((num << 3) | 2), ...varint(b.length)]), b]);
};
const msg = (...fields: Buffer[]) => Buffer.concat(fields);
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, msg(field(1, apiVersion), field(2, kind))), field(2, raw)]);

describe('Kubernetes protobuf bodies', () => {
  it('decodes a ConfigMap as kubectl create configmap sends it', () => {
    const raw = msg(
      field(1, msg(field(1, 'cfg'), field(2, ''), field(7, 0), field(8, Buffer.alloc(0)))),
      field(2, msg(field(1, 'a'), field(2, 'b'))),
      field(3, msg(field(1, 'bin'), field(2, Buffer.from([0, 255])))),
    );
    expect(decodeProtobuf(envelope('v1', 'ConfigMap', raw))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg' },
      data: { a: 'b' },
      binaryData: { bin: 'AP8=' },
    });
  });
  it('decodes a CertificateSigningRequest as kubectl certificate approve sends it back', () => {
    const cond = msg(field(1, 'Approved'), field(6, 'True'), field(2, 'KubectlApprove'), field(3, 'This CSR was approved by kubectl certificate approve.'));
    const raw = msg(
      field(1, msg(field(1, 'csr-x'))),
      field(
        2,
        msg(field(1, Buffer.from('PEM')), field(2, 'system:bootstrap:abcdef'), field(5, 'client auth'), field(7, 'kubernetes.io/kube-apiserver-client')),
      ),
      field(3, msg(field(1, cond))),
    );
    expect(decodeProtobuf(envelope('certificates.k8s.io/v1', 'CertificateSigningRequest', raw))).toEqual({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: 'csr-x' },
      spec: { request: 'UEVN', username: 'system:bootstrap:abcdef', usages: ['client auth'], signerName: 'kubernetes.io/kube-apiserver-client' },
      status: {
        conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove', message: 'This CSR was approved by kubectl certificate approve.' }],
      },
    });
  });
  it('decodes a Service targetPort (IntOrString)', () => {
    const port = msg(field(1, '80-8080'), field(2, 'TCP'), field(3, 80), field(4, msg(field(1, 0), field(2, 8080))));
    const raw = msg(field(1, msg(field(1, 's'))), field(2, msg(field(1, port), field(4, 'NodePort'))));
    expect(decodeProtobuf(envelope('v1', 'Service', raw))).toMatchObject({
      spec: { type: 'NodePort', ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }] },
    });
  });
  it('decodes a LoadBalancerIngress with its ipMode and port status', () => {
    const ingress = msg(field(1, '172.16.255.250'), field(3, 'VIP'), field(4, msg(field(1, 80), field(2, 'TCP'))));
    expect(decodeMessage('LoadBalancerIngress', ingress)).toEqual({ ip: '172.16.255.250', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] });
  });
  it('decodes an Ingress as kubectl create ingress sends it (the rule value inlined, as in JSON)', () => {
    const backend = msg(field(4, msg(field(1, 'web'), field(2, msg(field(2, 80))))));
    const path = msg(field(1, '/'), field(3, 'Prefix'), field(2, backend));
    const rule = msg(field(1, 'a.example'), field(2, msg(field(1, msg(field(1, path))))));
    const named = msg(field(4, msg(field(1, 'api'), field(2, msg(field(1, 'http'))))));
    const spec = msg(field(4, 'nginx'), field(1, named), field(2, msg(field(1, 'a.example'), field(2, 'a-tls'))), field(3, rule));
    expect(decodeProtobuf(envelope('networking.k8s.io/v1', 'Ingress', msg(field(1, msg(field(1, 'ing'))), field(2, spec))))).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'ing' },
      spec: {
        ingressClassName: 'nginx',
        defaultBackend: { service: { name: 'api', port: { name: 'http' } } },
        tls: [{ hosts: ['a.example'], secretName: 'a-tls' }],
        rules: [{ host: 'a.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
      },
    });
  });
  it('decodes a TokenRequest as kubectl create token sends it', () => {
    const bound = msg(field(1, 'Pod'), field(2, 'v1'), field(3, 'web-0'), field(4, 'u-1'));
    const raw = msg(
      field(1, msg(field(8, Buffer.alloc(0)))),
      field(2, msg(field(1, 'vault'), field(1, 'api'), field(4, 600), field(3, bound))),
      field(3, Buffer.alloc(0)),
    );
    expect(decodeProtobuf(envelope('authentication.k8s.io/v1', 'TokenRequest', raw))).toEqual({
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: {},
      spec: { audiences: ['vault', 'api'], expirationSeconds: 600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web-0', uid: 'u-1' } },
    });
  });
  it('refuses a field it does not know instead of dropping it', () => {
    const raw = msg(field(1, msg(field(1, 'cfg'))), field(99, 'x'));
    expect(() => decodeProtobuf(envelope('v1', 'ConfigMap', raw))).toThrow(/field 99 of ConfigMap/);
  });
  it('refuses a known field sent with another wire type', () => {
    const raw = msg(field(1, msg(field(1, 7))));
    expect(() => decodeProtobuf(envelope('v1', 'ConfigMap', raw))).toThrow(/field 1 of ObjectMeta has wire type 0/);
  });
  it('refuses kinds it has no table for, and garbage', () => {
    expect(() => decodeProtobuf(envelope('v1', 'Pod', Buffer.alloc(0)))).toThrow(/no protobuf table for v1\/Pod/);
    expect(() => decodeProtobuf(Buffer.from('not protobuf'))).toThrow(/k8s/);
    expect(() => decodeProtobuf(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0xff])]))).toThrow(/truncated/);
  });
});
