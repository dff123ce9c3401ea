// The lint rules that encode ARCHITECTURE.md's invariants really catch a forbidden import
// (and leave an allowed one alone): lintText on imaginary files at the right paths.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const root = new URL('../..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

async function violations(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${path}` });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('the engine never imports the UI, the shell or Electron', async () => {
  assert.match(
    (await violations('server/x.ts', "import '../renderer/store/store.ts';\n")).join(),
    /never imports the UI/,
  );
  assert.match(
    (await violations('server/control/x.ts', "import '../../app/ipc.ts';\n")).join(),
    /never imports the UI/,
  );
  assert.match((await violations('server/x.ts', "import 'electron';\n")).join(), /never imports Electron/);
  assert.match((await violations('server/x.ts', "import 'react';\n")).join(), /no UI libraries/);
  assert.deepEqual(await violations('server/x.ts', "import './shared/types.ts';\n"), []);
});

test('server/shared stays browser-safe and self-contained', async () => {
  assert.match((await violations('server/shared/x.ts', "import 'node:fs';\n")).join(), /no Node built-ins/);
  assert.match((await violations('server/shared/x.ts', "import '../engine.ts';\n")).join(), /self-contained/);
  assert.deepEqual(await violations('server/shared/x.ts', "import './types.ts';\n"), []);
});

test('the renderer imports only server/shared of the engine, zustand only in the store, pixi only in grid', async () => {
  assert.match(
    (await violations('renderer/components/X.tsx', "import '../../server/engine.ts';\n")).join(),
    /only server\/shared/,
  );
  assert.match(
    (await violations('renderer/x.ts', "import '../server/control/api.ts';\n")).join(),
    /only server\/shared/,
  );
  assert.deepEqual(await violations('renderer/components/X.tsx', "import '../../server/shared/types.ts';\n"), []);
  assert.match((await violations('renderer/components/X.tsx', "import 'zustand';\n")).join(), /Only renderer\/store/);
  assert.deepEqual(await violations('renderer/store/x.ts', "import 'zustand';\n"), []);
  assert.match((await violations('renderer/components/X.tsx', "import 'pixi.js';\n")).join(), /Only renderer\/grid/);
  assert.match((await violations('renderer/grid/x.ts', "import 'react';\n")).join(), /no React, no store/);
  assert.match((await violations('renderer/x.ts', "import 'node:fs';\n")).join(), /sandboxed page/);
});
