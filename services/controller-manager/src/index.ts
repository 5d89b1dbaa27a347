/** @kemu/controller-manager — the cluster's control loops. */
export { start, type ControllerManagerOptions } from './server.js';
export { CONTROLLERS } from './controllers/index.js';
export type { Controller, ControllerContext } from './context.js';
export { electSpeaker, speakerOrder, speakerCandidates, EXCLUDE_FROM_LB_LABEL } from './controllers/service-lb-election.js';
export { LB_CLASS } from './controllers/service-lb.js';
