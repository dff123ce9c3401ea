#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node
// Entry point of the `blockscope` command: runs the TypeScript CLI through tsx.
// The tunable asks glibc's malloc for transparent huge pages (madvise): a RAM disk's first write
// to fresh memory then faults once per 2 MiB instead of once per 4 KiB, which was most of the
// time of a sequential write into an empty disk (docs/performance.md). It only takes effect at
// process start, hence the shebang; `node server/bin/blockscope.mjs` runs without it.
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
