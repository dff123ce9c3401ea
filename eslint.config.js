// Lint rules, including the import boundaries that keep the architecture one-way
// (ARCHITECTURE.md, "Invariants"). `npm test` fails on any error here.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** `no-restricted-imports` patterns, one message each, so a violation says which rule it breaks. */
const forbid = (group, message) => ({ group, message });

const ENGINE_NEVER_IMPORTS = [
  forbid(
    ['**/renderer/**', '**/app/**'],
    'server/ is the engine: it never imports the UI (renderer/) or the Electron shell (app/).',
  ),
  forbid(['electron', 'electron/*'], 'server/ is plain Node: it never imports Electron.'),
  forbid(['react', 'react-dom', 'react-dom/*', 'pixi.js', 'zustand'], 'server/ is plain Node: no UI libraries.'),
];

/** Every file of the renderer: a sandboxed page that sees the engine only through server/shared/. */
const RENDERER_BASE = [
  forbid(
    ['**/server/*', '!**/server/shared', '**/server/*/**', '!**/server/shared/**'],
    'renderer/ may import only server/shared/ of the engine.',
  ),
  forbid(['**/app/**'], 'renderer/ never imports the Electron shell: use the transport.'),
  forbid(['node:*', 'electron'], 'renderer/ runs in a sandboxed page: no Node or Electron.'),
];
const RENDERER_TESTS_AND_CONFIG = ['**/*.test.ts', 'renderer/vite.config.ts'];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'out/',
      'dist/',
      'release/',
      'test-results/',
      'playwright-report/',
      'e2e/artifacts/',
      'bench/results/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  // CommonJS config files (electron-builder reads .cjs) use require.
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // The engine (and its shared types) never reach into the UI or the shell.
  {
    files: ['server/**/*.{ts,mjs}'],
    rules: { 'no-restricted-imports': ['error', { patterns: ENGINE_NEVER_IMPORTS }] },
  },
  // server/shared is bundled into the browser page: no Node built-ins there.
  {
    files: ['server/shared/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...ENGINE_NEVER_IMPORTS,
            forbid(['node:*'], 'server/shared/ is bundled into the renderer: no Node built-ins.'),
            forbid(
              ['../*', '!../shared/*'],
              'server/shared/ is self-contained: it imports nothing else of the engine.',
            ),
          ],
        },
      ],
    },
  },
  // The renderer talks to the engine only through the transport; of server/ it may import only shared/.
  {
    files: ['renderer/**/*.{ts,tsx}'],
    ignores: RENDERER_TESTS_AND_CONFIG,
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': ['error', { patterns: RENDERER_BASE }],
    },
  },
  // Only the store imports zustand; only grid/ imports pixi.js; grid/ imports neither React nor the store.
  {
    files: ['renderer/**/*.{ts,tsx}'],
    ignores: ['renderer/store/**', 'renderer/grid/**', ...RENDERER_TESTS_AND_CONFIG],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...RENDERER_BASE,
            forbid(['zustand', 'zustand/*'], 'Only renderer/store/ imports zustand; use its hooks and selectors.'),
            forbid(['pixi.js'], 'Only renderer/grid/ imports pixi.js.'),
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/grid/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...RENDERER_BASE,
            forbid(
              ['react', 'react-dom', '**/store/**', '**/components/**', 'zustand'],
              'renderer/grid/ is drawing code: no React, no store.',
            ),
          ],
        },
      ],
    },
  },
  // The preload runs in Electron's sandbox: only electron's renderer-side API and app/channels.
  {
    files: ['app/preload.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            forbid(
              ['**/server/*', '!**/server/shared', '**/renderer/**'],
              'The preload exposes verbs only: no engine or UI code.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'e2e/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
