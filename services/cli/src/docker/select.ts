/**
 * Which driver runs a cluster: `--driver` when given, else the one its record
 * names (a Docker-driven cluster's cluster.json says `"driver": "docker"`), else
 * the namespace driver, which needs no Docker. One cluster name, one driver.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KemuError } from '../errors.js';
import { DockerCluster, type DockerServiceRow, type DockerSettings } from './driver.js';

export const DRIVERS = ['namespace', 'docker'] as const;
export type Driver = (typeof DRIVERS)[number];

/** What the Docker driver needs of the namespace driver's Cluster (project, subnet, state directory, compose file). */
export interface ClusterIdentity {
  project: string;
  subnetPrefix: string;
  state: string;
  composeFile: string;
}

export interface DriverChoice extends DockerSettings {
  flag: string | undefined;
  repoRoot: string;
}

/** The driver of the cluster whose state is in `state`: 'docker', 'namespace', or undefined when there is none. */
export function recordedDriver(state: string): Driver | undefined {
  const f = join(state, 'cluster.json');
  if (!existsSync(f)) return undefined;
  const rec = JSON.parse(readFileSync(f, 'utf8')) as { driver?: string };
  return rec.driver === 'docker' ? 'docker' : 'namespace';
}

/** The pure choice: the flag, checked against what the cluster already runs on. */
export function chooseDriver(project: string, flag: string | undefined, recorded: Driver | undefined): Driver {
  if (flag !== undefined && !(DRIVERS as readonly string[]).includes(flag)) throw new KemuError(`--driver: "${flag}" is not one of ${DRIVERS.join(', ')}`);
  const wanted = flag as Driver | undefined;
  if (wanted && recorded && wanted !== recorded)
    throw new KemuError(`cluster "${project}" runs on the ${recorded} driver: kemu down it first, or give another name with -p`);
  return wanted ?? recorded ?? 'namespace';
}

/** The Docker driver for this cluster, or undefined when the namespace driver runs it. */
export function dockerDriver(c: ClusterIdentity, o: DriverChoice): DockerCluster | undefined {
  const { flag, ...settings } = o;
  if (chooseDriver(c.project, flag, recordedDriver(c.state)) !== 'docker') return undefined;
  return new DockerCluster({ project: c.project, subnetPrefix: c.subnetPrefix, state: c.state, composeFile: c.composeFile, ...settings });
}

/** `kemu status` of a Docker-driven cluster: one row per container. */
export function formatDockerStatus(rows: DockerServiceRow[]): string {
  const w = Math.max(7, ...rows.map((r) => r.service.length)) + 2;
  const s = Math.max(5, ...rows.map((r) => r.state.length)) + 2;
  const c = Math.max(9, ...rows.map((r) => r.container.length)) + 2;
  const lines = [`${'SERVICE'.padEnd(w)}${'STATE'.padEnd(s)}${'CONTAINER'.padEnd(c)}${'ADDRESS'.padEnd(14)}NODE`];
  for (const r of rows) lines.push(`${r.service.padEnd(w)}${r.state.padEnd(s)}${r.container.padEnd(c)}${r.address.padEnd(14)}${r.nodeName ?? ''}`);
  return lines.join('\n');
}
