/**
 * @kemu/netpol — the NetworkPolicy agent of a kemu node: its pure core (what a node enforces, planned from
 * policies, pods and namespaces; the iptables rules or the nftables table written from that plan) and the process
 * that keeps them in the node's kernel (`start`).
 */
export { start, type AgentOptions, type RunningAgent } from './agent.js';
export { backendForProxyMode, type PolicyBackendName } from './backend.js';
export { NFT_FAMILY, NFT_TABLE, nftChanges, nftFull, nftPeerSet, nftPodChain, nftPolicyChain, nftState, type NftState } from './nft.js';
export {
  PlanMemo,
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
