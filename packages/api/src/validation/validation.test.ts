import { describe, expect, it } from 'vitest';
import { addDefaultTolerations, applyDefaults } from '../defaults.js';
import { fieldErrorMessage, invalidError } from '../field-errors.js';
import { lookupResource, type ResourceInfo } from '../registry.js';
import type { Deployment } from 'kubernetes-types/apps/v1.js';
import type { Pod, ReplicationController } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../types.js';
import { validateCreate, validateUpdate } from './index.js';

const info = (g: string, v: string, r: string) => lookupResource(g, v, r) as ResourceInfo;
const pods = info('', 'v1', 'pods');
const deployments = info('apps', 'v1', 'deployments');
const services = info('', 'v1', 'services');
const msgs = (i: ResourceInfo, o: object) => validateCreate(i, applyDefaults(i, o as never)).map(fieldErrorMessage);

// The defaulted objects are of these kinds; the casts let the tests read their fields typed.
const asPod = (o: KubeObject) => o as Pod;
const asDeployment = (o: KubeObject) => o as Deployment;

const pod = (over: object = {}) => ({ metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'nginx' }] }, ...over });

describe('validation', () => {
  it('accepts a minimal pod', () => {
    expect(msgs(pods, pod())).toEqual([]);
  });
  it('names every problem with its field path, as Kubernetes', () => {
    const errs = msgs(pods, {
      metadata: { name: 'Bad_Name', namespace: 'default', labels: { 'bad key!': 'v' } },
      spec: { containers: [{ name: 'c' }, { name: 'c', image: 'x', ports: [{ containerPort: 70000 }] }], restartPolicy: 'Sometimes' },
    });
    expect(errs.some((m) => m.startsWith('metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'))).toBe(true);
    expect(errs.some((m) => m.startsWith('metadata.labels: Invalid value: "bad key!"'))).toBe(true);
    expect(errs).toContain('spec.containers[0].image: Required value');
    expect(errs).toContain('spec.containers[1].name: Duplicate value: "c"');
    expect(errs).toContain('spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive');
    expect(errs).toContain('spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
  });
  it.each([
    [{ cpu: '9m' }, { cpu: '0.009' }],
    [{ cpu: '0.3' }, { cpu: '300m' }],
    [{ memory: '1.5Gi' }, { memory: '1536Mi' }],
  ])('accepts requests %j equal to limits %j, compared exactly', (requests, limits) => {
    expect(msgs(pods, pod({ spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests, limits } }] } }))).toEqual([]);
  });
  it('refuses requests above limits by one milli', () => {
    expect(
      msgs(pods, pod({ spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '10m' }, limits: { cpu: '0.009' } } }] } })),
    ).toEqual(['spec.containers[0].resources.requests: Invalid value: "10m": must be less than or equal to cpu limit of 0.009']);
  });
  it('requires a name or generateName', () => {
    expect(msgs(pods, pod({ metadata: { namespace: 'default' } }))).toContain('metadata.name: Required value: name or generateName is required');
  });
  it('checks that a Deployment selector matches its template', () => {
    const d = {
      metadata: { name: 'd', namespace: 'default' },
      spec: {
        replicas: -1,
        selector: { matchLabels: { app: 'a' } },
        template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    };
    const errs = msgs(deployments, d);
    expect(errs).toContain('spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    expect(errs.some((m) => m.includes('`selector` does not match template `labels`'))).toBe(true);
    const err = invalidError('Deployment', 'apps', 'd', validateCreate(deployments, applyDefaults(deployments, d)));
    expect(err.status.message).toMatch(/^Deployment\.apps "d" is invalid: \[/);
    expect(err.code).toBe(422);
  });
  it('validates Service ports and names (DNS-1035)', () => {
    const errs = msgs(services, { metadata: { name: '1svc', namespace: 'default' }, spec: { ports: [{ port: 80 }, { port: 0, name: 'b' }] } });
    expect(errs.some((m) => m.startsWith('metadata.name: Invalid value: "1svc": a DNS-1035 label'))).toBe(true);
    expect(errs).toContain('spec.ports[0].name: Required value');
    expect(errs).toContain('spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive');
  });
  it('makes a pod spec immutable except images', () => {
    const old = applyDefaults(pods, pod());
    const img = asPod(structuredClone(old));
    img.spec!.containers[0].image = 'nginx:2';
    expect(validateUpdate(pods, img as KubeObject, old)).toEqual([]);
    const other = asPod(structuredClone(old));
    other.spec!.restartPolicy = 'Never';
    expect(validateUpdate(pods, other as KubeObject, old).map(fieldErrorMessage)[0]).toMatch(/^spec: Forbidden: pod updates may not change fields/);
  });
  it('makes apps/v1 selectors immutable', () => {
    const d = applyDefaults(deployments, {
      metadata: { name: 'd', namespace: 'default' },
      spec: {
        selector: { matchLabels: { app: 'a' } },
        template: { metadata: { labels: { app: 'a', v: '1' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    const next = asDeployment(structuredClone(d));
    next.spec!.selector = { matchLabels: { app: 'a', v: '1' } };
    expect(validateUpdate(deployments, next as KubeObject, d).map(fieldErrorMessage)).toContain(
      'spec.selector: Invalid value: {"matchLabels":{"app":"a","v":"1"}}: field is immutable',
    );
  });
  it('refuses a strategy that is not an object (defaulting leaves it alone)', () => {
    const tpl = { metadata: { labels: { app: 'a' } }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    const d = (strategy: unknown) => ({
      metadata: { name: 'd', namespace: 'default' },
      spec: { selector: { matchLabels: { app: 'a' } }, template: tpl, strategy },
    });
    expect(msgs(deployments, d('fast'))).toEqual(['spec.strategy: Invalid value: "fast": must be an object']);
    expect(msgs(deployments, d({ type: 'RollingUpdate', rollingUpdate: 1 }))).toEqual(['spec.strategy.rollingUpdate: Invalid value: 1: must be an object']);
    const ds = { metadata: { name: 'ds', namespace: 'default' }, spec: { selector: { matchLabels: { app: 'a' } }, template: tpl, updateStrategy: 'x' } };
    expect(msgs(info('apps', 'v1', 'daemonsets'), ds)).toEqual(['spec.updateStrategy: Invalid value: "x": must be an object']);
  });
  it('refuses bad secret data and keys', () => {
    const secrets = info('', 'v1', 'secrets');
    const errs = msgs(secrets, { metadata: { name: 's', namespace: 'default' }, data: { 'bad key': 'aGk=', ok: '!!!' } });
    expect(errs.some((m) => m.startsWith('data: Invalid value: "bad key"'))).toBe(true);
    expect(errs.some((m) => m.includes('illegal base64 data'))).toBe(true);
  });
});

describe('defaulting', () => {
  it('defaults a pod as Kubernetes does', () => {
    const p = asPod(applyDefaults(pods, pod()));
    expect(p.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
    });
    // The default service account is the api-server's ServiceAccount admission's, not a default (mirror pods keep none).
    expect(p.spec?.serviceAccountName).toBeUndefined();
    expect(p.spec?.containers[0]).toMatchObject({
      imagePullPolicy: 'Always',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    });
    expect(p.status).toMatchObject({ phase: 'Pending', qosClass: 'BestEffort' });
    // The not-ready/unreachable tolerations are the api-server's DefaultTolerationSeconds admission, not defaulting.
    expect(p.spec?.tolerations).toEqual([]);
  });

  it('DefaultTolerationSeconds adds the tolerations a pod lacks, for the seconds the api-server was given', () => {
    const p = applyDefaults(pods, pod());
    addDefaultTolerations(p, { notReady: 2, unreachable: 3 });
    expect(asPod(p).spec?.tolerations).toEqual([
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 },
    ]);
    const own = applyDefaults(pods, pod({ spec: { containers: [{ name: 'c', image: 'nginx' }], tolerations: [{ operator: 'Exists' }] } }));
    addDefaultTolerations(own, { notReady: 2, unreachable: 3 });
    expect(asPod(own).spec?.tolerations).toEqual([{ operator: 'Exists' }]);
  });
  it("hostNetwork: a pod's hostPorts default to its containerPorts, a template's do not (Kubernetes since 1.28); a mismatch is refused", () => {
    const ports = (hostPort?: number) => ({
      hostNetwork: true,
      containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80, ...(hostPort ? { hostPort } : {}) }] }],
    });
    expect(asPod(applyDefaults(pods, pod({ spec: ports() }))).spec?.containers[0].ports?.[0].hostPort).toBe(80);
    const d = {
      metadata: { name: 'd', namespace: 'default' },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: ports() } },
    };
    expect(asDeployment(applyDefaults(deployments, d)).spec?.template.spec?.containers[0].ports?.[0].hostPort).toBeUndefined();
    expect(msgs(deployments, d)).toEqual([]);
    const bad = 'hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true';
    expect(msgs(pods, pod({ spec: ports(81) }))).toEqual([`spec.containers[0].ports[0].${bad}`]);
    expect(msgs(deployments, { ...d, spec: { ...d.spec, template: { ...d.spec.template, spec: ports(81) } } })).toEqual([
      `spec.template.spec.containers[0].ports[0].${bad}`,
    ]);
  });
  it('pulls tagged images IfNotPresent', () => {
    const p = asPod(applyDefaults(pods, pod({ spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } })));
    expect(p.spec?.containers[0].imagePullPolicy).toBe('IfNotPresent');
  });
  it('defaults a Deployment strategy 25%/25%, history 10, deadline 600', () => {
    const d = applyDefaults(deployments, { metadata: { name: 'd' }, spec: { template: { spec: { containers: [] } } } });
    expect(d.spec).toMatchObject({
      replicas: 1,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    });
  });
  it('defaults Service type, protocol and targetPort', () => {
    const s = applyDefaults(services, { metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } });
    expect(s.spec).toMatchObject({ type: 'ClusterIP', sessionAffinity: 'None', ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }] });
  });
  it('defaults a ReplicationController selector from its template', () => {
    const rc = applyDefaults(info('', 'v1', 'replicationcontrollers'), {
      metadata: { name: 'r' },
      spec: { template: { metadata: { labels: { app: 'x' } }, spec: { containers: [] } } },
    }) as ReplicationController;
    expect(rc.spec?.selector).toEqual({ app: 'x' });
    expect(rc.metadata?.labels).toEqual({ app: 'x' });
  });
});
