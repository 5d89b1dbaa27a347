/** The timing profile the test cluster runs (kemu up --profile; fast unless KEMU_PROFILE says otherwise). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TIMING_PROFILES, type Profile, type TimingProfile } from '../../services/cli/dist/profiles.js';
import { ctx } from './helpers.js';

export function clusterProfile(): Profile {
  const rec = JSON.parse(readFileSync(join(ctx().state, 'cluster.json'), 'utf8')) as { profile?: Profile };
  return rec.profile ?? 'fast';
}

export function clusterTimings(): TimingProfile {
  return TIMING_PROFILES[clusterProfile()];
}
