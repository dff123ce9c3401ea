// Backend registry: `--backend memory|file` and their parameters.
import type { Backend } from './backend.ts';
import { FileBackend } from './file.ts';
import { SparseMemoryBackend } from './memory.ts';

export const BACKENDS = ['memory', 'file'] as const;
/** Parameters each backend accepts as key=value on the command line. */
export const BACKEND_PARAMS: Record<(typeof BACKENDS)[number], string[]> = {
  memory: [],
  file: ['file'],
};

export async function createBackend(
  name: string,
  size: bigint,
  params: Record<string, string>,
  readonly = false,
): Promise<Backend> {
  const known = BACKEND_PARAMS[name as (typeof BACKENDS)[number]];
  if (!known) throw new Error(`unknown backend '${name}' (known: ${BACKENDS.join(', ')})`);
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) throw new Error(`backend ${name}: unknown parameter '${key}'`);
  }
  if (name === 'memory') return new SparseMemoryBackend(size);
  const path = params.file;
  if (!path) throw new Error('backend file: file=PATH is required');
  return FileBackend.open(path, size > 0n ? size : null, readonly);
}
