/**
 * @kemu/api — Kubernetes object machinery shared by every process: the
 * resource registry, Status errors, field errors, selectors, patches,
 * defaulting, validation, conversion and server-side printing.
 */
export * from './errors.js';
export * from './field-errors.js';
export * from './types.js';
export * from './registry.js';
export * from './labels.js';
export * from './fields.js';
export * from './quantity.js';
export * from './net/ipv4.js';
export { formatTime, formatMicroTime, formatNanoTime, parseTime } from './time.js';
export * from './patch/index.js';
export { applyDefaults, addDefaultTolerations, defaultPodSpec, defaultPullPolicy, qosClass, type DefaultTolerationSeconds } from './defaults.js';
export { validateCreate, validateUpdate } from './validation/index.js';
export { dns1123Label, dns1123Subdomain, dns1035Label, qualifiedName, labelValue } from './validation/names.js';
export { toStorage, fromStorage } from './conversion.js';
export { tableColumns, tableRow, humanDuration, podStatusText, type ColumnDefinition } from './printers.js';
export { parseDuration } from './duration.js';
export { resourceVerb } from './verbs.js';
export { charge, addUsage, quotaRefusal, applyLimitRanges, show as showQuantity, type Usage } from './quota.js';
export { tolerates, toleratesTaint, evictionTime } from './taints.js';
export { LB_CLASS, wantsOurLB, ingressIP, EXCLUDE_FROM_LB_LABEL, speakerOrder, electSpeaker, speakerCandidates } from './lb-election.js';
