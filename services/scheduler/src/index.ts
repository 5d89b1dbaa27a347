/** @kemu/scheduler — assigns pods to nodes. */
export { start, type SchedulerOptions } from './server.js';
export { Scheduler, numFeasibleNodesToFind } from './scheduler.js';
export * from './framework/filters.js';
export * from './framework/scores.js';
export * from './framework/node-info.js';
