import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCENE_BUDGET_BYTES, frameBudgetProblem, framesThatFit } from './frame-budget.ts';

test('a WebM export keeps its frames within the memory budget', () => {
  const perFrame = 5 * 16384; // five 64 MiB disks: 16384 cells each
  assert.equal(framesThatFit(perFrame), Math.floor(SCENE_BUDGET_BYTES / perFrame));
  assert.equal(frameBudgetProblem(5400, perFrame), null, 'three minutes at 30 fps fit');
  // "to" = 1e7 s at 30 fps: refused with what to do, not run until the tab dies.
  assert.match(
    frameBudgetProblem(3e8, perFrame)!,
    /^that is 300,000,000 frames; at most 13,107 fit .* raise the speed$/,
  );
});
