/**
 * @kemu/netpol — the NetworkPolicy agent of a kemu node: its pure core (what a node enforces, planned from
 * policies, pods and namespaces; the iptables rules written from that plan) and the process that keeps them in
 * the node's kernel (`start`).
 */
export { start, type AgentOptions, type RunningAgent } from './agent.js';
export {
  planNode,
  policyTypes,
  type Direction,
  type NodePlan,
  type Peers,
  type PodPlan,
  type PolicyPlan,
  type PortMatch,
  type Problem,
  type RulePlan,
} from './model.js';
export { ALLOW_MARK, CHAIN_PREFIX, TOP_CHAIN, buildRules, ownChains, podChain, policyChain, type Ruleset } from './rules.js';
