/** The ReplicationController controller: a ReplicaSet with a map selector. */
import type { ControllerContext } from '../context.js';
import { ReplicaController, replicationControllerKind } from './replica-core.js';

export const replicationControllerController = (ctx: ControllerContext) => new ReplicaController(ctx, replicationControllerKind);
