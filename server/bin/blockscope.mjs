#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1 node
// Entry point of the `blockscope` command: runs the TypeScript CLI through tsx.
// hugetlb=1 asks glibc's malloc for transparent huge pages (madvise): a RAM disk's first write
// to fresh memory then faults once per 2 MiB instead of once per 4 KiB, which was most of the
// time of a sequential write into an empty disk (docs/performance.md). glibc does that only for
// its main arena, and a disk's worker thread (`--data-path=worker`, the default from 4 cores)
// gets an arena of its own: arena_max=1 keeps every thread in the main one. Both only take
// effect at process start, hence the shebang (ENGINE_TUNABLES in start.mjs says the same);
// `node server/bin/blockscope.mjs` runs without them.
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
