import { describe, expect, it } from 'vitest';
import { auditEvent } from './event.js';
import { requestInfo } from '../http/request-info.js';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { addAuditAnnotation, requestContext } from '../http/request-context.js';
import { annotate, runAs } from '../authz/request-user.js';

const base = {
  auditID: 'a1',
  level: 'Metadata' as const,
  stage: 'ResponseComplete' as const,
  user: { name: 'jane', groups: ['dev', 'system:authenticated'] },
  sourceIPs: ['172.24.0.1'],
  userAgent: 'kubectl/v1.32.0',
  received: new Date('2026-01-01T00:00:00.123Z'),
  now: new Date('2026-01-01T00:00:00.456Z'),
};

describe('audit events', () => {
  it("names the object, the user and the answer as kube-apiserver's", () => {
    const e = auditEvent({
      ...base,
      requestURI: '/apis/apps/v1/namespaces/default/deployments/web/scale',
      info: requestInfo('PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale'),
      code: 200,
      authorization: { allowed: true, reason: 'RBAC: allowed by RoleBinding "x/default"' },
    });
    expect(e).toEqual({
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: 'a1',
      stage: 'ResponseComplete',
      requestURI: '/apis/apps/v1/namespaces/default/deployments/web/scale',
      verb: 'update',
      user: { username: 'jane', groups: ['dev', 'system:authenticated'] },
      sourceIPs: ['172.24.0.1'],
      userAgent: 'kubectl/v1.32.0',
      objectRef: { resource: 'deployments', namespace: 'default', name: 'web', apiGroup: 'apps', apiVersion: 'v1', subresource: 'scale' },
      responseStatus: { metadata: {}, code: 200 },
      requestReceivedTimestamp: '2026-01-01T00:00:00.123000Z',
      stageTimestamp: '2026-01-01T00:00:00.456000Z',
      annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by RoleBinding "x/default"' },
    });
  });

  it('carries an error Status and the impersonated user; bodies only at the levels that keep them', () => {
    const e = auditEvent({
      ...base,
      level: 'Request',
      requestURI: '/api/v1/namespaces/default/configmaps',
      info: requestInfo('POST', '/api/v1/namespaces/default/configmaps'),
      impersonatedUser: { name: 'bob', groups: ['system:authenticated'] },
      code: 429,
      responseBody: { kind: 'Status', status: 'Failure', message: 'Too many requests, please try again later.', reason: 'TooManyRequests', code: 429 },
      requestObject: { kind: 'ConfigMap' },
      responseObject: { kind: 'Status' },
    });
    expect(e.responseStatus).toEqual({
      metadata: {},
      code: 429,
      status: 'Failure',
      message: 'Too many requests, please try again later.',
      reason: 'TooManyRequests',
    });
    expect(e.impersonatedUser).toEqual({ username: 'bob', groups: ['system:authenticated'] });
    expect(e.requestObject).toEqual({ kind: 'ConfigMap' });
    expect(e.responseObject).toBeUndefined();
    expect(e.objectRef).toEqual({ resource: 'configmaps', namespace: 'default', apiVersion: 'v1' });
  });

  it('has no objectRef for a non-resource path', () => {
    expect(auditEvent({ ...base, requestURI: '/version', info: requestInfo('GET', '/version') }).objectRef).toBeUndefined();
  });

  it("carries admission's annotations beside the authorizer's, noted through the request's scope, the first value of a key kept", async () => {
    const req = new IncomingMessage(new Socket());
    const note = (key: string, value: string) => addAuditAnnotation(req, key, value);
    await runAs(
      base.user,
      async () => {
        await Promise.resolve();
        annotate('pod-security.kubernetes.io/enforce-policy', 'privileged:latest');
        annotate('pod-security.kubernetes.io/audit-violations', 'would violate PodSecurity "restricted:latest": x');
        annotate('pod-security.kubernetes.io/enforce-policy', 'restricted:latest');
      },
      undefined,
      note,
    );
    annotate('outside', 'a call serving no request notes nothing');
    const e = auditEvent({
      ...base,
      requestURI: '/api/v1/namespaces/default/pods',
      info: requestInfo('POST', '/api/v1/namespaces/default/pods'),
      code: 201,
      authorization: { allowed: true, reason: '' },
      annotations: requestContext(req).auditAnnotations,
    });
    expect(e.annotations).toEqual({
      'authorization.k8s.io/decision': 'allow',
      'authorization.k8s.io/reason': '',
      'pod-security.kubernetes.io/enforce-policy': 'privileged:latest',
      'pod-security.kubernetes.io/audit-violations': 'would violate PodSecurity "restricted:latest": x',
    });
    expect(auditEvent({ ...base, requestURI: '/version', info: requestInfo('GET', '/version') }).annotations).toBeUndefined();
  });
});
