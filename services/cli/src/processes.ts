/**
 * Several processes in one compose service: a Kubernetes node runs a kubelet and a
 * kube-proxy side by side. The compose file says so with the supervisor's command
 * line, `supervise.js --process=NAME argv... --process=NAME argv...`; under Docker
 * the supervisor runs each segment in the one container, and `kemu up` reads the
 * same segments and runs each as a process of its own in the service's namespace.
 * Pure.
 */

export interface ProcessSpec {
  name: string;
  command: string[];
}

const SUPERVISOR = /(^|\/)supervise\.js$/;
const MARK = '--process=';

/** The segments after a supervisor script, or undefined for an ordinary command. */
export function splitProcesses(command: readonly string[]): ProcessSpec[] | undefined {
  const at = command.findIndex((a) => SUPERVISOR.test(a));
  if (at < 0) return undefined;
  return segments(command.slice(at + 1));
}

/** `--process=NAME argv...` repeated → the processes; refuses an empty or unnamed segment. */
export function segments(args: readonly string[]): ProcessSpec[] {
  const out: ProcessSpec[] = [];
  for (const a of args) {
    if (a.startsWith(MARK)) {
      const name = a.slice(MARK.length);
      if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`supervise: process name "${name}" must be lower-case letters, digits and dashes`);
      if (out.some((p) => p.name === name)) throw new Error(`supervise: two processes named "${name}"`);
      out.push({ name, command: [] });
    } else if (out.length === 0) {
      throw new Error(`supervise: "${a}" comes before the first --process=NAME`);
    } else {
      out.at(-1)!.command.push(a);
    }
  }
  const empty = out.find((p) => p.command.length === 0);
  if (empty) throw new Error(`supervise: process "${empty.name}" has no command`);
  if (out.length === 0) throw new Error('supervise: no --process=NAME given');
  return out;
}
