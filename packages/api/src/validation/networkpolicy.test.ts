import { describe, expect, it } from 'vitest';
import type { NetworkPolicy } from 'kubernetes-types/networking/v1.js';
import { applyDefaults } from '../defaults.js';
import { fieldErrorMessage } from '../field-errors.js';
import { tableColumns, tableRow } from '../printers.js';
import { lookupResource, type ResourceInfo } from '../registry.js';
import { validateCreate } from './index.js';

const netpols = lookupResource('networking.k8s.io', 'v1', 'networkpolicies') as ResourceInfo;
const policy = (spec: object) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'np', namespace: 'default' }, spec });
const defaulted = (spec: object) => applyDefaults(netpols, policy(spec)) as NetworkPolicy;
const msgs = (spec: object) => validateCreate(netpols, applyDefaults(netpols, policy(spec) as never)).map(fieldErrorMessage);

describe('NetworkPolicy defaults (SetDefaults_NetworkPolicy)', () => {
  it('isolates ingress when policyTypes is absent, and egress too when there are egress rules', () => {
    expect(defaulted({}).spec?.policyTypes).toEqual(['Ingress']);
    expect(defaulted({}).spec?.podSelector).toEqual({});
    expect(defaulted({ egress: [{}] }).spec?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(defaulted({ policyTypes: ['Egress'] }).spec?.policyTypes).toEqual(['Egress']);
  });
  it('gives a port without protocol TCP', () => {
    expect(defaulted({ ingress: [{ ports: [{ port: 80 }] }] }).spec?.ingress?.[0].ports?.[0].protocol).toBe('TCP');
  });
});

describe('NetworkPolicy validation', () => {
  it('accepts selectors, ipBlocks of both families, named ports and ranges', () => {
    expect(
      msgs({
        podSelector: { matchLabels: { app: 'web' } },
        ingress: [
          { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { role: 'client' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] },
          { from: [{ ipBlock: { cidr: '2001:db8::/64' } }], ports: [{ port: 'http' }, { port: 8000, endPort: 8080, protocol: 'UDP' }] },
        ],
        egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }],
      }),
    ).toEqual([]);
  });
  it('says what is wrong as Kubernetes does', () => {
    expect(
      msgs({
        policyTypes: ['Ingress', 'Sideways'],
        ingress: [
          {
            from: [{}, { ipBlock: { cidr: '10.0.0.0/8', except: ['11.0.0.0/16', '10.0.0.0/8'] }, podSelector: {} }, { ipBlock: { cidr: 'nope' } }],
            ports: [{ port: 0 }, { port: 90, endPort: 80 }, { port: 'Web_Port' }, { protocol: 'ICMP' }, { endPort: 9 }],
          },
        ],
      }),
    ).toEqual([
      'spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      'spec.ingress[0].ports[1].endPort: Invalid value: 90: must be greater than or equal to `port`',
      'spec.ingress[0].ports[2].port: Invalid value: "Web_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.ingress[0].ports[3].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"',
      'spec.ingress[0].ports[4].endPort: Invalid value: 9: may not be specified when `port` is not specified',
      'spec.ingress[0].from[0]: Required value: must specify a peer',
      'spec.ingress[0].from[1].ipBlock.except[0]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`',
      'spec.ingress[0].from[1].ipBlock.except[1]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
      'spec.ingress[0].from[1]: Forbidden: may not specify both ipBlock and another peer',
      'spec.ingress[0].from[2].ipBlock.cidr: Invalid value: "nope": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
      'spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"',
    ]);
  });
});

describe('kubectl get netpol', () => {
  it('prints NAME, POD-SELECTOR, AGE', () => {
    expect(tableColumns('networkpolicies').map((c) => c.name)).toEqual(['Name', 'Pod-Selector', 'Age']);
    const row = (spec: object) => tableRow('networkpolicies', defaulted(spec) as never);
    expect(row({})[1]).toBe('<none>');
    expect(row({ podSelector: { matchLabels: { app: 'web', tier: 'a' } } })[1]).toBe('app=web,tier=a');
  });
});
