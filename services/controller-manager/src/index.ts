/** @kemu/controller-manager — the cluster's control loops. */
export { start, type ControllerManagerOptions } from './server.js';
export { CONTROLLERS } from './controllers/index.js';
export type { Controller, ControllerContext } from './context.js';
