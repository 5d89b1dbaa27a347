/** How long since `t0`, as `up` prints it after each step of its timeline (npm run bench:up reads these). */
export function elapsed(t0: number): string {
  return ` (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
}
