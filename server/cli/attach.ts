// `blockscope attach`: not built yet (issue: watch an external nbdkit). Says so plainly.
export async function main(_argv: string[]): Promise<number> {
  console.error('blockscope: attach is not available in this version yet');
  return 2;
}
