/**
 * Generated name suffixes (metadata.generateName, the kube-api-access
 * volume): five characters from Kubernetes' alphabet without vowels and
 * look-alike digits, so no word and no ambiguity appears in a name.
 */
const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return s;
}
