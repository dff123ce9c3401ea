// electron-vite build configuration: main (app/main.ts), preload (CommonJS, as sandboxed
// preloads require), renderer (the same React app `serve --ui` serves). Output in out/.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

// electron-vite picks its Node and Chrome targets from node_modules/electron, which is absent
// where the optional electron package could not install: tell it the version instead.
const { electronVersion } = createRequire(import.meta.url)('./electron-version.cjs') as {
  electronVersion: () => string;
};
process.env.ELECTRON_MAJOR_VER ??= electronVersion().split('.')[0];

export default defineConfig({
  main: {
    build: { lib: { entry: resolve('app/main.ts') } },
  },
  preload: {
    build: {
      lib: { entry: resolve('app/preload.ts') },
      rollupOptions: { output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: 'renderer',
    plugins: [react()],
    build: { rollupOptions: { input: resolve('renderer/index.html') } },
  },
});
