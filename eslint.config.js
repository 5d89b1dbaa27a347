// typescript-eslint, type-aware: the recommended rules with type information (tsconfig.eslint.json covers the
// sources, the unit tests, the suites and the benchmarks). A disable comment must say why, and one that no longer
// disables anything is an error.
import js from '@eslint/js';
import comments from '@eslint-community/eslint-plugin-eslint-comments/configs';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', 'proto/src/gen/**', 'node_modules/**', 'images/**', 'scripts/**', 'services/*/bin/**', '**/*.mjs', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  comments.recommended,
  {
    languageOptions: { parserOptions: { project: ['./tsconfig.eslint.json'], tsconfigRootDir: import.meta.dirname } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: { '@eslint-community/eslint-comments/require-description': 'error' },
  },
);
