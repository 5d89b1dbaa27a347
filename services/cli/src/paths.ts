/**
 * Where the CLI's own files are. The CLI runs as one bundle (dist/bundle.mjs, scripts/bundle.mjs) and its modules are
 * also loaded one by one (dist/*.js by tests and other packages, src/*.ts by vitest); this module sits at the top of
 * src/, so its directory is dist/ (or src/) in every case, where a module in a subdirectory would see its own.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory of the built CLI: dist/ (src/ under vitest). */
export const CLI_DIR = dirname(fileURLToPath(import.meta.url));
