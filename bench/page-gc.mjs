// How long a full GC takes with a RAM disk's N pages kept as Buffer views of 64 MiB slabs, or as
// numbers (page-slabs.ts keeps numbers). Memory is only reserved: the pages are never touched.
//   node --expose-gc bench/page-gc.mjs N buffers|numbers
const N = Number(process.argv[2] ?? 200000);
const mode = process.argv[3] ?? 'buffers';
const PAGE = 32768;
const SLAB = 64 << 20;
const PER = SLAB / PAGE;
const slabs = [];
const pages = new Map();
for (let i = 0; i < N; i++) {
  const s = Math.floor(i / PER);
  slabs[s] ??= Buffer.allocUnsafeSlow(SLAB);
  const key = Math.floor(Math.random() * 2 ** 19) * 1000 + i; // page numbers scattered over a big disk
  pages.set(key, mode === 'buffers' ? slabs[s].subarray((i % PER) * PAGE, ((i % PER) + 1) * PAGE) : i);
}
const times = [];
for (let r = 0; r < 5; r++) {
  const t = performance.now();
  globalThis.gc();
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const heap = process.memoryUsage().heapUsed / 2 ** 20;
// pages.size keeps the map alive through the GCs.
console.log(`${mode}: ${pages.size} pages, full GC median ${times[2].toFixed(1)} ms, heap ${heap.toFixed(0)} MiB`);
