// `blockscope replay`: not built yet (issue: replay a finished log). Says so plainly.
export async function main(_argv: string[]): Promise<number> {
  console.error('blockscope: replay is not available in this version yet');
  return 2;
}
