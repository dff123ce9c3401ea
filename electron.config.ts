// electron-vite build configuration: main (app/main.ts), preload (CommonJS, as sandboxed
// preloads require), renderer (the same React app `serve --ui` serves). Output in out/.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import { resolve } from 'node:path';

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
