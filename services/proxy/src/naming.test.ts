import { describe, expect, it } from 'vitest';
import type { Protocol } from './model/types.js';
import { base32, extChain, fwChain, nftAffinitySet, nftEndpointChain, nftServiceChain, sepChain, svcChain, svlChain } from './naming.js';

const spn = (namespace: string, name: string, portName: string, protocol: Protocol = 'TCP') => ({ namespace, name, portName, protocol });

describe('chain names as kube-proxy derives them', () => {
  it('base32 is RFC 4648 (Go base32.StdEncoding)', () => {
    expect(base32(new TextEncoder().encode('foobar'))).toBe('MZXW6YTBOI');
  });

  // Vectors from kube-proxy's proxier_test.go goldens, and from real clusters' iptables-save.
  it.each([
    ['ns1', 'svc1', 'p80', 'TCP', 'XPGD46QRK7WJZT7O'],
    ['ns2', 'svc2', 'p80', 'TCP', 'GNZBNJ2PO5MGZ6GT'],
    ['ns3', 'svc3', 'p80', 'TCP', 'X27LE4BHSL4DOUIK'],
    ['ns4', 'svc4', 'p80', 'TCP', '4SW47YFZTEDKD3PK'],
    ['ns5', 'svc5', 'p80', 'TCP', 'NUKIZ6OKUXPJNT4C'],
    ['default', 'kubernetes', 'https', 'TCP', 'NPX46M4PTMTKRN6Y'],
    ['kube-system', 'kube-dns', 'dns', 'UDP', 'TCOU7JCQXEZGVUNU'],
    ['kube-system', 'kube-dns', 'dns-tcp', 'TCP', 'ERIFXISQEP7F7OF4'],
    ['kube-system', 'kube-dns', 'metrics', 'TCP', 'JD5MR3NA4I4DYORP'],
  ] as const)('%s/%s:%s %s → %s', (ns, name, port, proto, hash) => {
    const s = spn(ns, name, port, proto);
    expect([svcChain(s), svlChain(s), extChain(s), fwChain(s)]).toEqual([`KUBE-SVC-${hash}`, `KUBE-SVL-${hash}`, `KUBE-EXT-${hash}`, `KUBE-FW-${hash}`]);
  });

  it.each([
    ['ns1', 'svc1', '10.180.0.1', 'SXIVWICOYRO3J4NJ'],
    ['ns1', 'svc1', '10.180.2.1', 'ZX7GRIZKSNUQ3LAJ'],
    ['ns2', 'svc2', '10.180.0.2', 'RS4RBKLTHTF2IUXJ'],
    ['ns3', 'svc3', '10.180.0.3', 'OYPFS5VJICHGATKP'],
    ['ns4', 'svc4', '10.180.0.4', 'UKSFD7AGPMPPLUHC'],
    ['ns4', 'svc4', '10.180.0.5', 'C6EBXVWJJZMIWKLZ'],
    ['ns5', 'svc5', '10.180.0.3', 'I77PXRDZVX7PMWMN'],
  ])('KUBE-SEP for %s/%s:p80 → %s:80', (ns, name, ip, hash) => {
    expect(sepChain(spn(ns, name, 'p80'), { ip, port: 80 })).toBe(`KUBE-SEP-${hash}`);
  });

  it('an unnamed port hashes "namespace/name" alone', () => {
    expect(svcChain(spn('default', 'web', ''))).toBe('KUBE-SVC-LOLE4ISW44XBNF3G');
    expect(svcChain(spn('default', 'web', ''))).not.toBe(svcChain(spn('default', 'web', 'http')));
  });

  it('nftables names carry an 8-character hash and the readable name', () => {
    expect(nftServiceChain(spn('ns1', 'svc1', 'p80'))).toBe('service-ULMVA6XW-ns1/svc1/tcp/p80');
    expect(nftEndpointChain(spn('ns1', 'svc1', 'p80'), { ip: '10.180.0.1', port: 80 })).toBe('endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
    expect(nftAffinitySet(spn('ns5', 'svc5', 'p80'), { ip: '10.180.0.3', port: 80 })).toBe('affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80');
  });
});
