// node-forge's ASN.1 codec and utilities alone (its index loads all of forge, 590 KB of a bundle): typed as the
// parts of forge they are.
declare module 'node-forge/lib/asn1.js' {
  import type forge from 'node-forge';
  const asn1: typeof forge.asn1;
  export default asn1;
}
declare module 'node-forge/lib/util.js' {
  import type forge from 'node-forge';
  const util: typeof forge.util;
  export default util;
}
