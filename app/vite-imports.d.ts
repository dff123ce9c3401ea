// electron-vite's import suffixes used by app/main.ts (their types ship in electron-vite/node).
declare module '*?nodeWorker' {
  import type { Worker, WorkerOptions } from 'node:worker_threads';
  export default function createWorker(options: WorkerOptions): Worker;
}
