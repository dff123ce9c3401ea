// Which metadata contexts a LIST_META_CONTEXT / SET_META_CONTEXT query list selects (NBD spec
// §Metadata querying, §The `base:` metadata namespace). We offer exactly one: base:allocation.

import { BASE_ALLOCATION } from './constants.ts';

/**
 * The contexts the queries name, each once. LIST: no queries means all, and the bare `base:`
 * is a wildcard for the base namespace. SET: no queries selects nothing, and the bare `base:`
 * MUST be ignored (libnbd's opt-set-meta checks this). Unknown namespaces and leaves are ignored.
 */
export function matchMetaContexts(queries: readonly string[], list: boolean): string[] {
  if (list && queries.length === 0) return [BASE_ALLOCATION];
  const hit = queries.some((q) => q === BASE_ALLOCATION || (list && q === 'base:'));
  return hit ? [BASE_ALLOCATION] : [];
}
