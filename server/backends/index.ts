// Backend registry: `--backend memory|file|nbd|image` and their parameters.
import type { Backend } from './backend.ts';
import { FileBackend } from './file.ts';
import { ImageBackend } from './image.ts';
import { SparseMemoryBackend } from './memory.ts';
import { NBD_BACKEND_PARAMS, NbdBackend } from './nbd.ts';

export const BACKENDS = ['memory', 'file', 'nbd', 'image'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Parameters each backend accepts as key=value on the command line. */
export const BACKEND_PARAMS: Record<BackendName, readonly string[]> = {
  memory: [],
  file: ['file'],
  nbd: NBD_BACKEND_PARAMS,
  image: ['file', 'format'],
};

/** Backends whose size comes from what they open (no --size needed). */
export const SIZED_BY_SOURCE: readonly BackendName[] = ['nbd', 'image'];

export async function createBackend(
  name: string,
  size: bigint,
  params: Record<string, string>,
  readonly = false,
): Promise<Backend> {
  const known = BACKEND_PARAMS[name as BackendName];
  if (!known) throw new Error(`unknown backend '${name}' (known: ${BACKENDS.join(', ')})`);
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) throw new Error(`backend ${name}: unknown parameter '${key}'`);
  }
  switch (name as BackendName) {
    case 'memory':
      return new SparseMemoryBackend(size);
    case 'nbd':
      return NbdBackend.open(params, readonly);
    case 'image':
      if (!params.file) throw new Error('backend image: file=PATH is required');
      return ImageBackend.openImage(params.file, { writable: !readonly, format: params.format });
    case 'file': {
      const path = params.file;
      if (!path) throw new Error('backend file: file=PATH is required');
      return FileBackend.open(path, size > 0n ? size : null, readonly);
    }
  }
}
