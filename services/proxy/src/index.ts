/**
 * @kemu/proxy — kube-proxy for kemu nodes: its pure core (the model built from
 * Services and EndpointSlices, and the rules each mode programs: iptables-restore
 * input, an nft transaction, the userspace schedulers) and the process that
 * writes those rules into a node's kernel (`start`).
 */
export { PROXY_MODES, cleanup, start, type ProxyMode, type ProxyOptions, type RunningProxy } from './server.js';
export { SyncRunner, wantsFullSync, type SyncReason, type RunnerTimers } from './runtime/sync-runner.js';
export { IptablesProxier, NftablesProxier, type Proxier, type SyncOutcome } from './runtime/proxiers.js';
export { IPTABLES_BACKENDS, chooseBackend, detectBackend, iptablesTools, type IptablesBackend, type IptablesTools } from './runtime/backend.js';
export { spawnExec, ToolError, type Exec, type ExecResult } from './runtime/exec.js';
export { proxyHealth } from './runtime/health.js';

export type { EndpointInfo, LocalDetector, NodeFacts, Protocol, ServiceEntry, ServicePortInfo, ServiceType, TrafficPolicy } from './model/types.js';
export { endpointString, servicePortKey, servicePortNameString } from './model/types.js';
export { DEFAULT_AFFINITY_TIMEOUT_SECONDS, SERVICE_NAME_LABEL, buildModel, endpointsFromSlices, servicePortsFromService } from './model/from-k8s.js';
export { ModelTracker, sliceServiceKey, type ModelSource } from './model/tracker.js';
export { categorizeEndpoints, type CategorizedEndpoints } from './model/categorize.js';
export { planService, type ServicePlan } from './model/plan.js';

export {
  extChain,
  fwChain,
  isNftServiceChainName,
  isServiceChainName,
  nftAffinitySet,
  nftEndpointChain,
  nftExternalChain,
  nftFirewallChain,
  nftLocalChain,
  nftServiceChain,
  sepChain,
  svcChain,
  svlChain,
} from './naming.js';

export {
  IptablesRuleMemo,
  LARGE_CLUSTER_ENDPOINTS_THRESHOLD,
  buildIptablesRules,
  masqueradeMark,
  probability,
  type IptablesOptions,
  type IptablesRuleset,
  type IptablesSyncInput,
} from './iptables/ruleset.js';
export { buildPartialIptablesRules, changedServices, type PartialSyncInput } from './iptables/partial.js';
export { iptablesJumps, jumpRuleArgs, type IptablesJump } from './iptables/jumps.js';

export {
  NFT_TABLE,
  buildNftablesTransaction,
  STALE_CHAIN_DELAY_MS,
  type NftablesOptions,
  type NftablesSyncInput,
  type NftablesTransaction,
} from './nftables/transaction.js';

export {
  SCHEDULER_NAMES,
  createScheduler,
  dhBucket,
  shBucket,
  type Backend,
  type Connection,
  type Scheduler,
  type SchedulerName,
} from './userspace/schedulers.js';
export { Balancer, ClientIPAffinity } from './userspace/affinity.js';
export { VirtualService, type RealServer } from './userspace/virtual-service.js';
export { DIAL_TIMEOUTS_MS, TcpProxy, type DataPathCounters } from './userspace/tcp-proxy.js';
export { DEFAULT_UDP_IDLE_TIMEOUT_MS, UdpProxy } from './userspace/udp-proxy.js';
export { PORTAL_JUMPS, USERSPACE_CHAINS, buildPortalRules, isUserspaceChain, type Portal, type PortalJump } from './userspace/portals.js';
export { UserspaceProxier, type UserspaceProxierOptions } from './runtime/userspace-proxier.js';
export { chooseDataPath, describeDataPath, kernelHasIpvs, type DataPath } from './runtime/data-path.js';
