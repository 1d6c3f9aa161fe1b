import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'admin/web/dist/', 'bench/node_modules/', 'client/dist/', 'coverage/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Procedures are scripts run in the sandbox: `result` is called by the engine, and the
    // sandbox provides these globals.
    files: ['procedures/**/*.js', 'tests/fixtures/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { logger: 'readonly', exceptionFactory: 'readonly', secondsUntil: 'readonly' },
    },
    rules: {
      'no-unused-vars': ['error', { varsIgnorePattern: '^result$' }],
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^result$' }],
    },
  },
  {
    // The sandbox prelude's modules: script fragments that sandbox/prelude-source.ts concatenates
    // into one strict-mode function. Each header names what it needs (`/* global x -- module.js */`)
    // and what later modules use (`/* exported x */`); checked here as scripts in strict mode.
    files: ['sandbox/prelude/*.js'],
    languageOptions: { sourceType: 'script', parserOptions: { ecmaFeatures: { impliedStrict: true } } },
  },
  {
    files: ['admin/web/**/*.js', 'admin/web/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
