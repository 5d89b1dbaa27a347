import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, evaluate, parsePolicy } from './policy.js';
import { requestInfo } from '../http/request-info.js';

const policy = parsePolicy(`
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    users: ["system:kube-proxy"]
    verbs: ["watch"]
  - level: None
    nonResourceURLs: ["/healthz*", "/version"]
  - level: RequestResponse
    resources:
      - group: ""
        resources: ["pods"]
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps"]
  - level: Request
    userGroups: ["dev"]
    namespaces: ["team-a"]
  - level: Metadata
    resources:
      - group: ""
        resources: ["*/status"]
      - group: "apps"
        resources: ["deployments/*"]
  - level: Metadata
    omitStages: ["ResponseStarted"]
`);

const jane = { name: 'jane', groups: ['dev', 'system:authenticated'] };
const proxy = { name: 'system:kube-proxy', groups: ['system:authenticated'] };

describe('audit policy', () => {
  it.each([
    ['kube-proxy watches are not audited', proxy, 'GET', '/api/v1/services?watch=1', 'None'],
    ['kube-proxy lists are', proxy, 'GET', '/api/v1/services', 'Metadata'],
    ['health checks are not', jane, 'GET', '/healthz/etcd', 'None'],
    ['pods with their bodies', jane, 'POST', '/api/v1/namespaces/default/pods', 'RequestResponse'],
    ['but not their subresources', jane, 'GET', '/api/v1/namespaces/default/pods/p/log', 'Metadata'],
    ['secrets only as metadata', jane, 'GET', '/api/v1/namespaces/team-a/secrets/s', 'Metadata'],
    ["dev's requests in team-a", jane, 'PUT', '/apis/apps/v1/namespaces/team-a/deployments/web', 'Request'],
    ['*/status', proxy, 'PUT', '/api/v1/nodes/n/status', 'Metadata'],
    ['deployments/*', proxy, 'PUT', '/apis/apps/v1/namespaces/x/deployments/web/scale', 'Metadata'],
  ])('%s', (_, user, method, url, level) => {
    expect(evaluate(policy, user, requestInfo(method, url)).level).toBe(level);
  });

  it('joins the policy and rule omitStages', () => {
    expect(evaluate(policy, jane, requestInfo('GET', '/api/v1/namespaces')).omitStages.sort()).toEqual(['RequestReceived', 'ResponseStarted']);
  });

  it('audits everything at Metadata without a policy file', () => {
    expect(evaluate(DEFAULT_POLICY, jane, requestInfo('GET', '/version')).level).toBe('Metadata');
  });

  it('says what is wrong with a bad policy', () => {
    expect(() => parsePolicy('kind: Policy\napiVersion: audit.k8s.io/v1\nrules:\n- level: Loud\n')).toThrow(/rules\[0\]\.level: Unsupported value: "Loud"/);
    expect(() => parsePolicy('kind: Pod\napiVersion: v1\n')).toThrow(/kind must be Policy/);
    expect(() => parsePolicy('kind: Policy\napiVersion: audit.k8s.io/v1\nrules:\n- level: None\n  nonResourceURLs: ["/x"]\n  namespaces: ["a"]\n')).toThrow(
      /cannot apply to both/,
    );
  });
});
