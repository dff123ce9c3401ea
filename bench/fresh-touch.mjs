// How fast this machine hands out fresh memory: 16 slabs of 64 MiB allocated and touched once
// per 4 KiB, as a RAM disk's first writes do. Run it with and without glibc's huge pages:
//   node bench/fresh-touch.mjs; GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node bench/fresh-touch.mjs
// (docs/performance.md, "A page's first small write").
const slabs = [];
const start = process.hrtime.bigint();
for (let i = 0; i < 16; i++) {
  const b = Buffer.alloc(64 << 20);
  for (let o = 0; o < b.length; o += 4096) b[o] = 1;
  slabs.push(b);
}
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const mode = process.env.GLIBC_TUNABLES?.includes('hugetlb=1') ? 'hugetlb=1' : '4 KiB pages';
console.log(`${mode}: 1 GiB of fresh memory touched in ${ms.toFixed(0)} ms (${((1024 / ms) * 1000).toFixed(0)} MiB/s)`);
