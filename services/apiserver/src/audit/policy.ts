/**
 * The audit policy (audit.k8s.io/v1 Policy, kube-apiserver's
 * --audit-policy-file): an ordered list of rules; the first one whose users,
 * groups, verbs, resources, namespaces or non-resource URLs match decides the
 * level of a request's events, and no match means no event. Parsing answers
 * what is wrong with the file; matching is pure, as kube-apiserver's policy
 * checker.
 */
import { parse as parseYaml } from 'yaml';
import type { UserInfo } from '../http/auth.js';
import type { RequestInfo } from '../http/request-info.js';

export const LEVELS = ['None', 'Metadata', 'Request', 'RequestResponse'] as const;
export type Level = (typeof LEVELS)[number];
export const STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;
export type Stage = (typeof STAGES)[number];

export interface GroupResources {
  group: string;
  resources: string[];
  resourceNames: string[];
}

export interface PolicyRule {
  level: Level;
  users: string[];
  userGroups: string[];
  verbs: string[];
  resources: GroupResources[];
  namespaces: string[];
  nonResourceURLs: string[];
  omitStages: Stage[];
}

export interface Policy {
  rules: PolicyRule[];
  omitStages: Stage[];
}

/**
 * What kemu audits when no policy file is given: every request at Metadata,
 * without the RequestReceived stage. (kube-apiserver audits nothing without a
 * policy file; kemu's cluster writes its audit log by default.)
 */
export const DEFAULT_POLICY: Policy = {
  omitStages: ['RequestReceived'],
  rules: [{ level: 'Metadata', users: [], userGroups: [], verbs: [], resources: [], namespaces: [], nonResourceURLs: [], omitStages: [] }],
};

function strings(v: unknown, where: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error(`${where}: must be a list of strings`);
  return v as string[];
}

function stages(v: unknown, where: string): Stage[] {
  const list = strings(v, where);
  for (const s of list) if (!(STAGES as readonly string[]).includes(s)) throw new Error(`${where}: Unsupported value: "${s}"`);
  return list as Stage[];
}

/** Parse a policy file's text (YAML or JSON), saying what is wrong with it. */
export function parsePolicy(text: string): Policy {
  const doc: unknown = parseYaml(text, { maxAliasCount: 100 });
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('audit policy: not an object');
  const d = doc as Record<string, unknown>;
  if (d.kind !== 'Policy') throw new Error(`audit policy: kind must be Policy, not ${String(d.kind)}`);
  if (typeof d.apiVersion !== 'string' || !/^audit\.k8s\.io\/v1/.test(d.apiVersion))
    throw new Error(`audit policy: unsupported apiVersion ${String(d.apiVersion)}`);
  if (!Array.isArray(d.rules) || d.rules.length === 0) throw new Error('audit policy: rules: Required value');
  const rules = d.rules.map((raw: unknown, i): PolicyRule => {
    const where = `rules[${i}]`;
    if (!raw || typeof raw !== 'object') throw new Error(`${where}: must be an object`);
    const r = raw as Record<string, unknown>;
    if (!(LEVELS as readonly unknown[]).includes(r.level)) throw new Error(`${where}.level: Unsupported value: "${String(r.level)}"`);
    const resources = ((r.resources ?? []) as unknown[]).map((g, j): GroupResources => {
      const gr = (g ?? {}) as Record<string, unknown>;
      return {
        group: typeof gr.group === 'string' ? gr.group : '',
        resources: strings(gr.resources, `${where}.resources[${j}].resources`),
        resourceNames: strings(gr.resourceNames, `${where}.resources[${j}].resourceNames`),
      };
    });
    const rule: PolicyRule = {
      level: r.level as Level,
      users: strings(r.users, `${where}.users`),
      userGroups: strings(r.userGroups, `${where}.userGroups`),
      verbs: strings(r.verbs, `${where}.verbs`),
      resources,
      namespaces: strings(r.namespaces, `${where}.namespaces`),
      nonResourceURLs: strings(r.nonResourceURLs, `${where}.nonResourceURLs`),
      omitStages: stages(r.omitStages, `${where}.omitStages`),
    };
    if (rule.nonResourceURLs.length && (rule.resources.length || rule.namespaces.length)) {
      throw new Error(`${where}.nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs`);
    }
    return rule;
  });
  return { rules, omitStages: stages(d.omitStages, 'omitStages') };
}

function pathMatches(path: string, spec: string): boolean {
  if (spec === '*') return true;
  if (spec.endsWith('*')) return path.startsWith(spec.slice(0, -1));
  return path === spec;
}

function resourceMatches(r: PolicyRule, info: RequestInfo): boolean {
  if (r.nonResourceURLs.length) return false;
  if (r.namespaces.length && !r.namespaces.includes(info.namespace)) return false;
  if (!r.resources.length) return true;
  const combined = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  return r.resources.some(
    (gr) =>
      gr.group === info.apiGroup &&
      (gr.resources.length === 0 ||
        ((gr.resourceNames.length === 0 || gr.resourceNames.includes(info.name)) &&
          gr.resources.some(
            (res) =>
              res === combined ||
              res === '*' ||
              (info.subresource !== '' && res === `*/${info.subresource}`) ||
              (res.endsWith('/*') && res.slice(0, -2) === info.resource),
          ))),
  );
}

function ruleMatches(r: PolicyRule, user: UserInfo, info: RequestInfo): boolean {
  if (r.users.length && !r.users.includes(user.name)) return false;
  if (r.userGroups.length && !r.userGroups.some((g) => user.groups.includes(g))) return false;
  if (r.verbs.length && !r.verbs.includes(info.verb)) return false;
  if (!r.nonResourceURLs.length && !r.resources.length && !r.namespaces.length) return true;
  if (info.isResourceRequest) return resourceMatches(r, info);
  if (r.resources.length || r.namespaces.length) return false;
  return r.nonResourceURLs.some((spec) => pathMatches(info.path, spec));
}

/** The level of a request's events and the stages left out, from the first matching rule. */
export function evaluate(policy: Policy, user: UserInfo, info: RequestInfo): { level: Level; omitStages: Stage[] } {
  const rule = policy.rules.find((r) => ruleMatches(r, user, info));
  if (!rule) return { level: 'None', omitStages: policy.omitStages };
  return { level: rule.level, omitStages: [...new Set([...policy.omitStages, ...rule.omitStages])] };
}
