// One file per long-running program: bundles a service's built entry (dist/main.js, tsc's output) with everything it
// imports — the workspace packages and node_modules — into dist/bundle.mjs, which the compose file and the images'
// entrypoints run. Why: a `kemu up` starts a dozen Node processes at once on a couple of cores, and resolving and
// reading the hundreds of modules of one such program (grpc-js, protobufjs, node-forge, ...) cost each of them
// 0.4–1 s of CPU; the bundle loads in a third to a half of that (README, "kemu up"). tsc's dist/ tree stays what
// tests, other packages and `node dist/main.js` use. Run from a service's directory (its package.json build script).
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const outfile = resolve('dist/bundle.mjs');
const outDir = dirname(outfile);

/**
 * A dependency that reads files of its own package at run time finds them through __dirname / __filename (etcd3
 * loads its .proto files so): in the bundle each such module gets its own, the path of its original file, relative
 * to the bundle, so the bundle works wherever the tree (bundle and node_modules together) is put.
 */
const originalPaths = {
  name: 'original-paths',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!/\b__(dirname|filename)\b/.test(text)) return undefined;
      const rel = (p) => JSON.stringify(relative(outDir, p));
      const prelude =
        `var __dirname = require('node:path').join(__kemuBundleDir, ${rel(dirname(args.path))}), ` +
        `__filename = require('node:path').join(__kemuBundleDir, ${rel(args.path)});`;
      // On the first line, so the module's own line numbers stay as they are.
      return { contents: prelude + text, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

await build({
  entryPoints: ['dist/main.js'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // ws's optional native helpers: required inside a try, absent here.
  external: ['bufferutil', 'utf-8-validate'],
  plugins: [originalPaths],
  // CommonJS dependencies inside an ES module still find require (and the bundle's own directory, see above).
  banner: {
    js: [
      "import { createRequire as __kemuCreateRequire } from 'node:module';",
      'const require = __kemuCreateRequire(import.meta.url);',
      'const __kemuBundleDir = import.meta.dirname;',
    ].join('\n'),
  },
  legalComments: 'none',
  logLevel: 'warning',
});
