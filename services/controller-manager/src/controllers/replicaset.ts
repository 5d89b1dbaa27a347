/** The ReplicaSet controller: keeps spec.replicas pods matching the selector. */
import type { ControllerContext } from '../context.js';
import { ReplicaController, replicaSetKind } from './replica-core.js';

export const replicaSetController = (ctx: ControllerContext) => new ReplicaController(ctx, replicaSetKind);
