// ESLint flat config: typescript-eslint's type-aware recommended rules. Formatting is Prettier's job
// (npm run check:format), not ESLint's.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/generated/**', '**/gql/**', 'bench/results/**', 'coverage/**', '.cache/**', '**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // In-memory implementations of asynchronous contracts (Broker backends, presence stores) are
      // `async` without awaiting, so that a throw becomes a rejection exactly as in the Redis ones.
      '@typescript-eslint/require-await': 'off',
      // Yoga and envelop hand plugins their helpers (endResponse, setResultProcessor, fetchAPI) as methods
      // meant to be destructured, and graphql-ws's client methods are closures: the rule flags both.
      '@typescript-eslint/unbound-method': 'off',
      // `_name` marks a parameter or a destructured field that is deliberately left out.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read untyped JSON off the wire and use vitest's asymmetric matchers (expect.any(), typed any).
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
