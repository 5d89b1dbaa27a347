/** Matches for "traffic from a pod" and its negation, per --detect-local-mode. */
import type { LocalDetector } from './types.js';

/** Whether the detector can tell pod traffic at all (mode None cannot). */
export function detectorImplemented(d: LocalDetector): boolean {
  return d.mode !== 'None';
}

/** iptables match args for traffic from a local pod. */
export function iptIfLocal(d: LocalDetector): string[] {
  if (d.mode === 'BridgeInterface') return ['-i', d.interface];
  if (d.mode === 'None') return [];
  return ['-s', d.cidr];
}

/** iptables match args for traffic not from a local pod. */
export function iptIfNotLocal(d: LocalDetector): string[] {
  if (d.mode === 'BridgeInterface') return ['!', '-i', d.interface];
  if (d.mode === 'None') return [];
  return ['!', '-s', d.cidr];
}

/** nftables expression for traffic from a local pod. */
export function nftIfLocal(d: LocalDetector): string {
  if (d.mode === 'BridgeInterface') return `iifname ${d.interface}`;
  if (d.mode === 'None') return '';
  return `ip saddr ${d.cidr}`;
}

/** nftables expression for traffic not from a local pod. */
export function nftIfNotLocal(d: LocalDetector): string {
  if (d.mode === 'BridgeInterface') return `iifname != ${d.interface}`;
  if (d.mode === 'None') return '';
  return `ip saddr != ${d.cidr}`;
}
