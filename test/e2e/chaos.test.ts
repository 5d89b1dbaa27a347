/**
 * `kemu chaos` on the namespace driver, under the fast timing profile: each
 * fault is done with --watch --json, whose verdict (recovered within the
 * timeout) and milestones the tests read, and what a user would check with
 * kubectl is checked too:
 * - a node running half of a Deployment's replicas killed while the built-in
 *   probe calls its Service: NotReady, out of the Service, replicas Running
 *   elsewhere; started again, it finishes what was deleted meanwhile;
 * - pause/resume: the node's processes frozen, not gone; after resume, the pods
 *   replaced meanwhile stop;
 * - partition/heal: pods on the cut-off node keep running (they answer from the
 *   node itself); after healing, those deleted meanwhile stop;
 * - the leading scheduler and controller-manager killed: the other replica takes
 *   the Lease over and does the work;
 * - kemu stop, kemu start: every object kept, pods running again.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { Node, Pod, PodList } from 'kubernetes-types/core/v1.js';
import type { EndpointSliceList } from 'kubernetes-types/discovery/v1.js';
import { apply, deploymentManifest, k, kemu, namespace, onNode, parseJson, waitFor } from './helpers.js';
import { clusterProfile } from './profile.js';

interface Report {
  milestones: { nodeNotReady?: number; endpointsUpdated?: number; podsEvicted?: number; replicasReady?: number; nodesReady?: number; leaderChanged?: number };
  verdict: { recovered: boolean; waiting?: string[] };
  probes: { service: string; sent: number; failed: number }[];
}

const REPLICAS = 4;
let ns = '';

/** A chaos verb with --watch --json: the report (kemu exits non-zero, and this throws, when not recovered). */
const chaos = (verb: string, target: string): Report => {
  try {
    return parseJson<Report>(kemu('chaos', verb, target, '--watch', '--json', '--timeout', '180s'));
  } catch (e) {
    // Not recovered (exit 2): the report still says what it waited for, which the test's failure then shows.
    const out = (e as { stdout?: string }).stdout;
    if (out?.trim().startsWith('{')) return parseJson<Report>(out);
    throw e;
  }
};
/** The verdict, with the whole report as the message when it is not the one expected. */
const recovered = (r: Report) =>
  expect(r.verdict, `${JSON.stringify(r.verdict)} ${JSON.stringify(r.milestones)} ${JSON.stringify(r.probes)}`).toMatchObject({ recovered: true });
const webPods = async () => parseJson<PodList>(await k(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'json'])).items;
const ready = (p: Pod) => !p.metadata?.deletionTimestamp && (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const nodeReady = async (name: string) =>
  (parseJson<Node>(await k(['get', 'node', name, '-o', 'json'])).status?.conditions ?? []).find((c) => c.type === 'Ready')?.status;

/** The node running the most replicas of web (at least half of them when they are spread over two nodes). */
async function busiestNode(): Promise<{ node: string; pods: Pod[] }> {
  const pods = (await webPods()).filter(ready);
  const by = new Map<string, Pod[]>();
  for (const p of pods) by.set(p.spec!.nodeName!, [...(by.get(p.spec!.nodeName!) ?? []), p]);
  const [node, on] = [...by].sort((a, b) => b[1].length - a[1].length)[0];
  return { node, pods: on };
}

/** Every replica Ready, none of them on `away`. */
async function replicasElsewhere(away: string): Promise<boolean> {
  const running = (await webPods()).filter(ready);
  return running.length === REPLICAS && running.every((p) => p.spec?.nodeName !== away);
}

const gone = async (uids: string[]) => !(await webPods()).some((p) => uids.includes(p.metadata!.uid!));

beforeAll(async () => {
  expect(clusterProfile()).toBe('fast');
  ns = await namespace('chaos');
  await apply(
    ns,
    deploymentManifest('web', REPLICAS, {
      containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }], readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 } }],
    }),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
  );
  await waitFor('web Ready', async () => (await webPods()).filter(ready).length === REPLICAS, 120_000, 500);
}, 180_000);

/** Whatever a failed test left down comes back, so one failure does not fail the tests (and files) after it. */
async function makeWhole(): Promise<void> {
  const nodes = ['node-1', 'node-2', 'node-3'];
  const components = ['scheduler', 'scheduler-2', 'controller-manager', 'controller-manager-2'];
  const status = kemu('status');
  const ready = await Promise.all(nodes.map(nodeReady));
  if (ready.every((r) => r === 'True') && components.every((c) => new RegExp(`^${c}\\s+running`, 'm').test(status))) return;
  for (const n of nodes) {
    kemu('chaos', 'resume', n);
    kemu('chaos', 'heal', n);
    kemu('chaos', 'start', n);
  }
  for (const c of components) kemu('chaos', 'start', c);
  await waitFor('every node Ready again', async () => (await Promise.all(nodes.map(nodeReady))).every((r) => r === 'True'), 120_000, 500);
}

beforeEach(makeWhole, 180_000);

afterAll(async () => {
  await makeWhole();
  if (ns) await k(['delete', 'namespace', ns, '--wait=false']);
}, 300_000);

describe('kemu chaos (fast profile)', () => {
  it('kill: the node goes NotReady, the Service stops sending to it, its replicas run elsewhere; start brings it back', async () => {
    const { node: victim, pods } = await busiestNode();
    const r = chaos('kill', victim);
    recovered(r);
    expect(r.milestones.nodeNotReady).toBeDefined();
    expect(r.milestones.endpointsUpdated).toBeDefined();
    expect(r.milestones.podsEvicted).toBeDefined();
    // The probe called web all along; it tells how many requests failed (the benchmark prints the share).
    const probe = r.probes.find((p) => p.service === `${ns}/web`);
    expect(probe?.sent).toBeGreaterThan(0);

    expect(await nodeReady(victim)).toBe('Unknown');
    expect(await replicasElsewhere(victim)).toBe(true);
    await waitFor(
      'web served from the other nodes only',
      async () => {
        const slices = parseJson<EndpointSliceList>(await k(['get', 'endpointslices', '-n', ns, '-l', 'kubernetes.io/service-name=web', '-o', 'json']));
        const readyNodes = slices.items.flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready !== false).map((e) => e.nodeName));
        return readyNodes.length === REPLICAS && !readyNodes.includes(victim);
      },
      30_000,
      500,
    );

    const back = chaos('start', victim);
    recovered(back);
    expect(await nodeReady(victim)).toBe('True');
    // The evicted pods were Terminating while their kubelet was away; back, it finishes them.
    await waitFor('the evicted pods gone', () => gone(pods.map((p) => p.metadata!.uid!)), 60_000, 500);
  }, 420_000);

  it('pause: every process frozen, not gone; resume: the pods replaced meanwhile stop', async () => {
    const { node: victim, pods } = await busiestNode();
    const r = chaos('pause', victim);
    recovered(r);
    expect(await nodeReady(victim)).toBe('Unknown');
    expect(await replicasElsewhere(victim)).toBe(true);
    // The kubelet is still there, stopped (state T), as in a paused container.
    const kubelet = Number(kemu('status').match(new RegExp(`^${victim}\\s+running\\s+(\\d+)`, 'm'))?.[1]);
    expect(readFileSync(`/proc/${kubelet}/stat`, 'utf8').split(') ')[1]?.[0]).toBe('T');

    const back = chaos('resume', victim);
    recovered(back);
    await waitFor('the replaced pods gone', () => gone(pods.map((p) => p.metadata!.uid!)), 60_000, 500);
  }, 420_000);

  it('partition: pods on the cut-off node keep running; heal: those deleted meanwhile stop', async () => {
    const { node: victim, pods } = await busiestNode();
    const r = chaos('partition', victim);
    recovered(r);
    expect(await nodeReady(victim)).toBe('Unknown');
    expect(await replicasElsewhere(victim)).toBe(true);
    // Cut off, not dead: from the node itself its pods still answer.
    for (const p of pods)
      expect(onNode(victim, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '5', `http://${p.status!.podIP}/`).stdout).toBe('200');

    const back = chaos('heal', victim);
    recovered(back);
    await waitFor('the pods deleted during the partition gone', () => gone(pods.map((p) => p.metadata!.uid!)), 60_000, 500);
  }, 420_000);

  it.each([
    ['scheduler', 'kube-scheduler'],
    ['controller-manager', 'kube-controller-manager'],
  ])(
    'killing the leading %s hands its Lease over to the other replica, which does the work',
    async (component, lease) => {
      const holder = async () => parseJson<Lease>(await k(['get', 'lease', '-n', 'kube-system', lease, '-o', 'json'])).spec?.holderIdentity;
      const before = await holder();
      // Both replicas run (an earlier file may have killed one): the standby is the one to take over.
      const status = kemu('status');
      for (const replica of [component, `${component}-2`]) expect(status, status).toMatch(new RegExp(`^${replica}\\s+running`, 'm'));
      const r = chaos('kill', component);
      recovered(r);
      expect(r.milestones.leaderChanged).toBeDefined();
      expect(await holder()).not.toBe(before);
      // The new leader works: one more replica is made (controller-manager) and placed (scheduler).
      await k(['scale', 'deployment', 'web', '-n', ns, `--replicas=${REPLICAS + 1}`]);
      await waitFor('a fifth replica Ready', async () => (await webPods()).filter(ready).length === REPLICAS + 1, 90_000, 500);
      await k(['scale', 'deployment', 'web', '-n', ns, `--replicas=${REPLICAS}`]);
      await waitFor(`${REPLICAS} replicas`, async () => (await webPods()).filter((p) => !p.metadata?.deletionTimestamp).length === REPLICAS, 90_000, 500);
      // The killed replica stays down (as after docker kill) until started.
      kemu('chaos', 'start', component);
      kemu('chaos', 'start', `${component}-2`);
    },
    300_000,
  );

  it('kemu stop then kemu start: every object kept, the pods running again', async () => {
    await k(['create', 'configmap', 'kept', '-n', ns, '--from-literal=a=b']);
    const uidOf = async (kind: string, name: string) => k(['get', kind, name, '-n', ns, '-o', 'jsonpath={.metadata.uid}']);
    const before = { deployment: await uidOf('deployment', 'web'), service: await uidOf('service', 'web'), configmap: await uidOf('configmap', 'kept') };
    kemu('stop');
    kemu('start');
    expect({ deployment: await uidOf('deployment', 'web'), service: await uidOf('service', 'web'), configmap: await uidOf('configmap', 'kept') }).toEqual(
      before,
    );
    await waitFor('web Ready again', async () => (await webPods()).filter(ready).length === REPLICAS, 180_000, 500);
  }, 420_000);
});
