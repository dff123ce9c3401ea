// A WebM export keeps every frame's scene (the cells of every disk) before it encodes any:
// the video's pace must not depend on how long each seek took. So the frames must fit in
// memory: a range that would need more is refused up front, with what to change.

/** Memory the kept scenes may take (typed arrays, outside the JS heap). */
export const SCENE_BUDGET_BYTES = 1024 * 1024 * 1024;

/** How many frames of `bytesPerFrame` fit in the budget. */
export function framesThatFit(bytesPerFrame: number): number {
  return Math.floor(SCENE_BUDGET_BYTES / Math.max(1, bytesPerFrame));
}

/** Null when `frames` fit, else why not, in the form's words. */
export function frameBudgetProblem(frames: number, bytesPerFrame: number): string | null {
  const fit = framesThatFit(bytesPerFrame);
  if (frames <= fit) return null;
  return (
    `that is ${frames.toLocaleString('en')} frames; at most ${fit.toLocaleString('en')} fit in memory ` +
    `for these disks: shorten the range or raise the speed`
  );
}
