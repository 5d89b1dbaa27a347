/**
 * The official Python client (Debian's python3-kubernetes) against kemu, as a user's program would drive it: list
 * and watch, create/replace/patch and the errors, status on create, the scale subresource, exec, logs,
 * port-forward, deletion propagation and the dynamic client. Each test runs one program of test/e2e/python/ with
 * the cluster's kubeconfig; the program prints one JSON object per line, keyed by `step`, and the test asserts on
 * them.
 */
import { execa } from 'execa';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, ctx, k, kubectl, namespace, netexecContainer, podManifest } from './helpers.js';

// Debian's interpreter, the one python3-kubernetes is installed for: `python3` on PATH may be a pyenv shim.
const PYTHON = '/usr/bin/python3';
const PROGRAMS = join(import.meta.dirname, 'python');

let ns: string;
let tmp: string;

type Step = Record<string, unknown>;

/**
 * Runs a program and returns what it printed, by step. A program that fails throws with the steps it got through
 * and the end of its traceback, which is what says why.
 */
async function py(program: string, ...args: string[]): Promise<Record<string, Step>> {
  const env: Record<string, string> = {};
  // The pyenv shim's variables must not steer Debian's interpreter to another site-packages.
  for (const [key, v] of Object.entries(process.env)) if (v !== undefined && !key.startsWith('PYTHON') && !key.startsWith('PYENV')) env[key] = v;
  Object.assign(env, { KUBECONFIG: ctx().kubeconfig, E2E_NAMESPACE: ns, TMPDIR: tmp, PYTHONDONTWRITEBYTECODE: '1' });
  const r = await execa(PYTHON, [join(PROGRAMS, program), ...args], { env, extendEnv: false, reject: false, timeout: 140_000 });
  const steps: Record<string, Step> = {};
  for (const line of String(r.stdout).split('\n').filter(Boolean)) {
    const parsed = JSON.parse(line) as Step;
    steps[String(parsed.step)] = parsed;
  }
  if (r.exitCode !== 0) {
    const trace = String(r.stderr).split('\n').slice(-12).join('\n');
    throw new Error(`${program} failed (exit ${r.exitCode ?? r.signal}) after steps [${Object.keys(steps).join(', ')}]:\n${trace}`);
  }
  return steps;
}

const PODS = [
  podManifest('shell', [
    { name: 'main', image: 'busybox', command: ['sh', '-c', 'echo started; i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done'] },
  ]),
  podManifest('netexec', [{ ...netexecContainer('netexec'), ports: [{ containerPort: 8080 }] }]),
];

beforeAll(async () => {
  ns = await namespace('pyclient');
  tmp = join(ctx().home, `python-tmp-${ns}`);
  mkdirSync(tmp, { recursive: true });
  await apply(ns, ...PODS);
  await k(['wait', '-n', ns, '--for=condition=Ready', 'pod/shell', 'pod/netexec', '--timeout=90s']);
});

afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the official Python client', () => {
  it('lists and watches with a label selector, and resumes a watch from a resourceVersion', async () => {
    const out = await py('watch_labels.py');
    expect(out.list).toMatchObject({ names: ['before'], resourceVersion: true });
    // The current state, then only what matches, created after the watch started.
    expect(out.watch?.events).toEqual([
      ['ADDED', 'before'],
      ['ADDED', 'after'],
    ]);
    // From `after`'s resourceVersion: nothing replayed, only the later changes.
    expect(out.resume?.events).toEqual([
      ['MODIFIED', 'after'],
      ['DELETED', 'before'],
      ['ADDED', 'late'],
    ]);
  });

  it('creates, replaces and patches (JSON, strategic, merge); stale replace, duplicate, missing and invalid are Status errors', async () => {
    const out = await py('crud_patch.py');
    expect(out.create).toMatchObject({ data: { k: 'v1' }, uid: true });
    expect(out.replace).toMatchObject({ data: { k: 'v2', extra: 'x' }, newResourceVersion: true });
    expect(out['json-patch']?.data).toEqual({ k: 'v3' });
    expect(out.strategic?.containers).toEqual(['main', 'side']);
    expect(out.merge?.containers).toEqual(['side']);
    expect(out['stale-replace']).toMatchObject({ status: 409, kind: 'Status', reason: 'Conflict', code: 409 });
    expect(out.duplicate).toMatchObject({ status: 409, reason: 'AlreadyExists' });
    expect(out.missing).toMatchObject({ status: 404, reason: 'NotFound' });
    expect(out.invalid).toMatchObject({ status: 422, reason: 'Invalid' });
    expect(out.after?.data).toEqual({ k: 'v3' });
  });

  it('gets a Deployment back from create with its status', async () => {
    const out = await py('deployment_status.py');
    expect(out['create-raw']?.hasStatus).toBe(true);
    expect(out.create?.status).toBe(true);
    expect(out.get?.status).toBe(true);
  });

  it('reads, patches and replaces the scale subresource', { timeout: 120_000 }, async () => {
    const out = await py('scale.py');
    expect(out.read).toEqual({ step: 'read', kind: 'Scale', name: 'scaled', replicas: 1 });
    expect(out.patch).toMatchObject({ replicas: 2, deploymentReplicas: 2 });
    expect(out.status).toMatchObject({ replicas: 2, selector: 'app=scaled' });
    expect(out.replace?.replicas).toBe(0);
    expect(out['scaled-down']).toBeDefined();
  });

  it('execs: output, stdout and stderr apart with the exit code, stdin', { timeout: 150_000 }, async () => {
    const out = await py('exec.py', 'shell');
    expect(out.output?.output).toBe('hello from python\n');
    expect(out['exit-code']).toMatchObject({ stdout: 'out\n', stderr: 'err\n', returncode: 3 });
    expect(out.stdin).toMatchObject({ answer: '42\n', returncode: 5 });
  });

  it('ends an exec stream when its command ends, every time', { timeout: 150_000 }, async () => {
    const out = await py('exec_close.py', 'shell');
    const results = out.execs?.results as { stdout: string; closed: boolean; returncode: number | null }[];
    // Listed by number, those still open after the command's Status: none should be.
    expect(results.flatMap((r, i) => (r.closed ? [] : [i]))).toEqual([]);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => ({ stdout: `${i}\n`, closed: true, returncode: i })));
  });

  it('gives a container HOSTNAME, the pod’s name', async () => {
    const out = await py('hostname.py', 'shell');
    expect(out.hostname?.hostname).toBe('shell');
  });

  it('reads a log whole, and follows it as it is written', async () => {
    const out = await py('logs.py', 'shell');
    expect(out.whole).toMatchObject({ first: 'started', ticks: true });
    expect(out.follow).toMatchObject({ first: 'started', inOrder: true });
    expect(Number(out.follow?.last)).toBeGreaterThanOrEqual(Number(out.follow?.knownBefore) + 3);
  });

  it('port-forwards to a pod’s port, with an HTTP request through it', async () => {
    const out = await py('portforward.py', 'netexec');
    expect(out.request).toMatchObject({ statusLine: 'HTTP/1.1 200 OK', body: 'netexec', error: null });
  });

  it('deletes with each propagation policy: Foreground, Background, Orphan', { timeout: 120_000 }, async () => {
    const out = await py('deletion.py');
    expect(out['foreground-waiting']).toMatchObject({
      ownerDeleting: true,
      ownerFinalizers: ['foregroundDeletion'],
      dependentFinalizers: ['e2e.kemu.dev/hold'],
    });
    expect(out['foreground-done']).toMatchObject({ ownerGone: true, dependentGone: true });
    expect(out.background).toMatchObject({ ownerGoneAtOnce: true, dependentGone: true });
    expect(out.orphan).toMatchObject({ dependentDeleting: false, ownerReferences: [] });
  });

  it('discovers resources and lists through the dynamic client', async () => {
    const out = await py('dynamic_discovery.py');
    expect(out.discovery).toMatchObject({ name: 'deployments', namespaced: true, groupVersion: 'apps/v1' });
    expect(out.discovery?.verbs).toEqual(expect.arrayContaining(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']));
    expect(out.subresources).toMatchObject({ names: ['scale', 'status'], scaleKind: 'Scale' });
    expect(out.unknown?.found).toBe(false);
    expect(out.list).toMatchObject({ kind: 'DeploymentList', names: ['dyn'] });
    expect(out.get?.name).toBe('dyn');
    expect(out.core?.names).toEqual(['kube-root-ca.crt']);
  });
});
