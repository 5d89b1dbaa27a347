/** Every controller the controller-manager runs, in one list. */
import type { Controller, ControllerContext } from '../context.js';
import { clusterRoleAggregationController } from './clusterrole-aggregation.js';
import { csrApprovingController } from './csr-approving.js';
import { csrSigningController } from './csr-signing.js';
import { daemonSetController } from './daemonset.js';
import { deploymentController } from './deployment.js';
import { endpointsController } from './endpoints.js';
import { endpointSliceController } from './endpointslice.js';
import { endpointSliceMirroringController } from './endpointslice-mirroring.js';
import { garbageCollector } from './garbage-collector.js';
import { namespaceController } from './namespace.js';
import { nodeIpamController } from './node-ipam.js';
import { nodeLifecycleController } from './nodelifecycle.js';
import { podGcController } from './podgc.js';
import { replicaSetController } from './replicaset.js';
import { resourceQuotaController } from './resourcequota.js';
import { replicationControllerController } from './replicationcontroller.js';
import { serviceAccountController } from './serviceaccount.js';
import { serviceLBController } from './service-lb.js';
import { rootCAPublisher } from './root-ca-publisher.js';
import { taintEvictionController } from './taint-eviction.js';

// The CSR controllers first: their service account's token is then asked for first (see sa-credentials.ts), and a new
// node's kubelet waits for them (TLS bootstrap) before it can register.
export const CONTROLLERS: { name: string; start: (ctx: ControllerContext) => Controller; workers: number }[] = [
  { name: 'csrapproving', start: csrApprovingController, workers: 5 },
  { name: 'csrsigning', start: csrSigningController, workers: 5 },
  { name: 'deployment', start: deploymentController, workers: 5 },
  { name: 'replicaset', start: replicaSetController, workers: 5 },
  { name: 'replicationcontroller', start: replicationControllerController, workers: 5 },
  { name: 'daemonset', start: daemonSetController, workers: 2 },
  { name: 'garbagecollector', start: garbageCollector, workers: 10 },
  { name: 'namespace', start: namespaceController, workers: 5 },
  { name: 'serviceaccount', start: serviceAccountController, workers: 2 },
  { name: 'root-ca-cert-publisher', start: rootCAPublisher, workers: 2 },
  { name: 'nodeipam', start: nodeIpamController, workers: 1 },
  { name: 'podgc', start: podGcController, workers: 2 },
  { name: 'nodelifecycle', start: nodeLifecycleController, workers: 2 },
  { name: 'taint-eviction-controller', start: taintEvictionController, workers: 2 },
  { name: 'resourcequota', start: resourceQuotaController, workers: 2 },
  { name: 'endpoint', start: endpointsController, workers: 5 },
  { name: 'endpointslice', start: endpointSliceController, workers: 5 },
  { name: 'endpointslicemirroring', start: endpointSliceMirroringController, workers: 5 },
  { name: 'service-lb-controller', start: serviceLBController, workers: 1 },
  { name: 'clusterrole-aggregation', start: clusterRoleAggregationController, workers: 1 },
];
