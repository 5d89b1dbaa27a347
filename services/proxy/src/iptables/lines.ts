/** The lines of one section of an iptables-restore input, and the shapes its rules share. */

/** A word, a number, or a run of words (flattened, an empty run adds nothing). */
export type Part = string | number | readonly (string | number)[];

export class Lines {
  readonly lines: string[] = [];

  write(...parts: Part[]): void {
    this.lines.push(parts.flat().join(' '));
  }

  /** `-A chain -m comment --comment text …`: the shape of nearly every kube-proxy rule. */
  append(chain: string, comment: string, ...rest: Part[]): void {
    this.write('-A', chain, '-m', 'comment', '--comment', comment, ...rest);
  }
}

/** The declaration of a chain (which also flushes it under iptables-restore --noflush). */
export const chainLine = (c: string): string => `:${c} - [0:0]`;
