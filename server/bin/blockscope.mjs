#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// Entry point of the `blockscope` command: runs the TypeScript CLI through tsx.
// hugetlb=1 asks glibc's malloc for transparent huge pages (madvise): a RAM disk's first write
// to fresh memory then faults once per 2 MiB instead of once per 4 KiB, which was most of the
// time of a sequential write into an empty disk (docs/performance.md). glibc does that in its
// main arena and for blocks it maps on their own, not in other threads' arenas, hence the RAM
// disk's 64 MiB slabs (server/backends/page-slabs.ts). Tunables only take effect at process
// start, hence the shebang (ENGINE_TUNABLES in start-decision.mjs says the same, and
// app/start-decision.test.ts checks that it does); `node server/bin/blockscope.mjs` runs
// without it.
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
