// Backend registry. STUB: replaced by the engine-core work (memory.ts, file.ts).
import type { Backend } from './backend.ts';

export const BACKENDS = ['memory', 'file'] as const;

export async function createBackend(name: string, size: bigint, params: Record<string, string>): Promise<Backend> {
  void size;
  void params;
  throw new Error(`backend ${name}: not implemented yet`);
}
