/**
 * The kubelet's two heartbeats, timed as Kubernetes' kubelet times them:
 * - the node lease controller renews the Node's Lease in kube-node-lease every
 *   quarter of its duration (--node-lease-duration-seconds, 40 s: every 10 s); a failed renewal is retried after
 *   200 ms, doubling up to 7 s (backoffEnsureLease), not after a whole period;
 * - the Node's status (conditions, capacity, addresses) is posted every
 *   --node-status-update-frequency (10 s), each post tried up to 5 times at once
 *   (nodeStatusUpdateRetry). Until the node has said Ready, it is posted every
 *   100 ms instead (fastStatusUpdateOnce, for at most 120 s): a new node is
 *   Ready as soon as it can be, not one period later.
 * Ready is posted only once the Lease exists, so a node that ever showed Ready
 * has a Lease the node lifecycle controller watches, even if this kubelet dies
 * right after. Status goes out as a strategic merge patch, as the kubelet's
 * PatchNodeStatus sends it: no precondition on the resourceVersion, so the
 * node IPAM controller writing the podCIDR or the node lifecycle controller
 * writing taints at the same moment cannot turn it into a conflict.
 */
import type { Logger } from 'pino';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import { formatMicroTime, isAlreadyExists, isNotFound, type KubeObject } from '@kemu/api';
import { sleep, type ApiClient } from '@kemu/client';
import { nodeObject, type NodeFacts } from './node-status.js';

const NODES = { version: 'v1', resource: 'nodes' };
const LEASES = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', namespace: 'kube-node-lease' };
/** The client hands out Kubernetes JSON as `KubeObject`; the kubelet reads it as the kubernetes-types it is (the one cast). */
export const fromApi = <T extends Node | Lease>(o: KubeObject): T => o as unknown as T;

export interface HeartbeatTimings {
  /** The Lease's spec.leaseDurationSeconds (--node-lease-duration-seconds; Kubernetes: 40). */
  leaseDurationSeconds: number;
  /** Between lease renewals (Kubernetes: 10 s, a quarter of the lease's 40 s). */
  leaseRenewMs: number;
  /** Between status posts once the node is Ready (nodeStatusUpdateFrequency: 10 s). */
  statusMs: number;
}

/** The kubelet's nodeLeaseRenewIntervalFraction: a lease is renewed every quarter of its duration. */
const LEASE_RENEW_FRACTION = 0.25;

/** The timings of a lease of `durationSeconds` and a status posted every `statusMs`. Pure. */
export function leaseTimings(durationSeconds: number, statusMs: number): HeartbeatTimings {
  return { leaseDurationSeconds: durationSeconds, leaseRenewMs: durationSeconds * 1000 * LEASE_RENEW_FRACTION, statusMs };
}

/** fastStatusUpdateOnce: the status is posted this often until the node is Ready... */
export const FAST_STATUS_MS = 100;
/** ...for at most this long after the kubelet started (nodeReadyGracePeriod). */
export const FAST_STATUS_GRACE_MS = 120_000;
/** nodeStatusUpdateRetry: tries of one status post before waiting for the next. */
export const STATUS_TRIES = 5;
/** The lease controller's back-off: 200 ms after the first failure, doubling, at most maxBackoff (7 s). */
const LEASE_BACKOFF_FIRST_MS = 200;
const LEASE_BACKOFF_MAX_MS = 7000;

/** How long to wait before the next lease renewal, after `failures` failed ones in a row. Pure. */
export function leaseDelayMs(failures: number, t: HeartbeatTimings): number {
  return failures === 0 ? t.leaseRenewMs : Math.min(LEASE_BACKOFF_FIRST_MS * 2 ** (failures - 1), LEASE_BACKOFF_MAX_MS);
}

/** How long to wait before the next status post: the fast period until the node has said Ready (within the grace). Pure. */
export function statusDelayMs(saidReady: boolean, sinceStartMs: number, t: HeartbeatTimings): number {
  return saidReady || sinceStartMs >= FAST_STATUS_GRACE_MS ? t.statusMs : FAST_STATUS_MS;
}

export interface HeartbeatOptions {
  nodeName: string;
  /** What the kubelet knows of its machine now (read at each post). */
  facts: () => NodeFacts;
  timings: HeartbeatTimings;
}

/**
 * Create the Node (not ready yet), or take over an existing one (labels only). Ready is posted by the status loop
 * once the Lease exists. Undefined only when `signal` aborted first.
 */
export async function register(client: ApiClient, o: HeartbeatOptions, log: Logger, signal: AbortSignal): Promise<KubeObject | undefined> {
  for (let delay = 200; !signal.aborted; delay = Math.min(delay * 2, 5000)) {
    try {
      const existing = await client.get(NODES, o.nodeName).catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
      if (!existing) {
        const created = await client.create(NODES, nodeObject(o.facts(), undefined, new Date(), false));
        log.info({ node: o.nodeName }, 'node registered');
        return created;
      }
      return await client.patch(NODES, o.nodeName, { metadata: { labels: nodeObject(o.facts(), fromApi<Node>(existing), new Date()).metadata.labels } });
    } catch (e) {
      if (isAlreadyExists(e)) continue;
      log.warn({ err: e }, 'registration failed; retrying');
      await sleep(delay, signal);
    }
  }
  return undefined;
}

async function renewLease(client: ApiClient, nodeName: string, node: KubeObject, durationSeconds: number): Promise<void> {
  const spec = { holderIdentity: nodeName, leaseDurationSeconds: durationSeconds, renewTime: formatMicroTime() };
  // Owned by the Node, so the garbage collector removes it with the Node; a re-registered Node takes it over.
  const ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: node.metadata.uid! }];
  try {
    const lease = fromApi<Lease>(await client.get(LEASES, nodeName));
    await client.update(LEASES, { ...lease, metadata: { ...lease.metadata, ownerReferences }, spec: { ...lease.spec, ...spec } });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await client.create(LEASES, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: nodeName, namespace: 'kube-node-lease', ownerReferences },
      spec,
    });
  }
}

/** One status post (Ready), tried STATUS_TRIES times; the conditions keep their transition times from the Node as it is. */
async function postStatus(client: ApiClient, o: HeartbeatOptions): Promise<KubeObject> {
  for (let i = 1; ; i++) {
    try {
      const cur = fromApi<Node>(await client.get(NODES, o.nodeName));
      return await client.patch(
        NODES,
        o.nodeName,
        { status: nodeObject(o.facts(), cur, new Date()).status },
        'application/strategic-merge-patch+json',
        'status',
      );
    } catch (e) {
      if (isNotFound(e) || i >= STATUS_TRIES) throw e;
    }
  }
}

/**
 * Keep both heartbeats of the `registered` Node going until `signal` aborts. A Node deleted meanwhile is
 * registered again (as Kubernetes' kubelet does), and is then fast-posted until Ready like a new one.
 */
export async function runHeartbeats(client: ApiClient, o: HeartbeatOptions, registered: KubeObject, log: Logger, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  let node = registered;
  let leaseRenewed = false;
  const leaseLoop = async () => {
    let failures = 0;
    while (!signal.aborted) {
      try {
        await renewLease(client, o.nodeName, node, o.timings.leaseDurationSeconds);
        leaseRenewed = true;
        failures = 0;
      } catch (e) {
        failures++;
        log.warn({ err: e, failures }, 'lease renewal failed');
      }
      await sleep(leaseDelayMs(failures, o.timings), signal);
    }
  };
  const statusLoop = async () => {
    let saidReady = false;
    while (!signal.aborted) {
      if (leaseRenewed) {
        try {
          node = await postStatus(client, o);
          if (!saidReady) log.info({ node: o.nodeName, ms: Date.now() - started }, 'node ready');
          saidReady = true;
        } catch (e) {
          if (isNotFound(e)) {
            log.warn({ node: o.nodeName }, 'node object gone; registering again');
            node = (await register(client, o, log, signal)) ?? node;
            saidReady = false;
            // The new Node's Lease (owned by it) before its Ready, as for the first registration.
            leaseRenewed = await renewLease(client, o.nodeName, node, o.timings.leaseDurationSeconds).then(
              () => true,
              () => false,
            );
            continue;
          }
          log.warn({ err: e }, 'node status update failed');
        }
      }
      await sleep(statusDelayMs(saidReady, Date.now() - started, o.timings), signal);
    }
  };
  await Promise.all([leaseLoop(), statusLoop()]);
}
