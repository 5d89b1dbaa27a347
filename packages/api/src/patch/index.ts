export { applyJsonPatch, PatchError, type JsonPatchOp } from './json-patch.js';
export { applyMergePatch } from './merge-patch.js';
export { applyStrategicMergePatch, listStrategy, type ListStrategy } from './strategic-merge.js';
