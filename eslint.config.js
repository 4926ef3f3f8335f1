// ESLint (flat config) for ferry's TypeScript: a small rule set for dead code and easy mistakes that tsc lets through.
// Formatting is Prettier's job (.prettierrc.json), the layers are dependency-cruiser's (.dependency-cruiser.cjs).
// Not type-aware on purpose (no parserOptions.project): the whole tree lints in well under a minute on 2 cores.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.cache/', 'build/', 'guest/', 'packaging/'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // tsc's noUnusedLocals misses unused imports that are only re-declared, and names in JS files.
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none', ignoreRestSiblings: true }],
      'no-var': 'error',
      eqeqeq: ['error', 'smart'],
      'no-debugger': 'error',
      'no-self-compare': 'error',
      'no-unreachable': 'error',
      'no-unsafe-finally': 'error',
      'no-fallthrough': 'error',
      'no-cond-assign': ['error', 'except-parens'],
      'no-control-regex': 'error',
      'no-dupe-else-if': 'error',
      'no-duplicate-case': 'error',
      'no-empty-pattern': 'error',
      'no-sparse-arrays': 'error',
      'no-unsafe-negation': 'error',
      'no-constant-binary-expression': 'error',
      'no-self-assign': 'error',
      'no-unused-labels': 'error',
    },
  },
);
