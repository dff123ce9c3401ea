// Filter registry: `--filter=NAME` on the command line, in nbdkit's names.
import { createDelayFilter, DELAY_PARAMS } from './delay.ts';
import { createErrorFilter, ERROR_PARAMS } from './error.ts';
import { createHoldFilter, HOLD_PARAMS } from './hold.ts';
import type { Filter, FilterContext, FilterFactory, ParamSpec } from './filter.ts';
import { createLogFilter, LOG_PARAMS } from './log/index.ts';
import { allKeys } from './params.ts';

export const FILTERS: Record<string, { factory: FilterFactory; params: readonly ParamSpec[] }> = {
  log: { factory: createLogFilter, params: LOG_PARAMS },
  error: { factory: createErrorFilter, params: ERROR_PARAMS },
  delay: { factory: createDelayFilter, params: DELAY_PARAMS },
  hold: { factory: createHoldFilter, params: HOLD_PARAMS },
};

function lookup(name: string) {
  const f = FILTERS[name];
  if (!f) throw new Error(`unknown filter '${name}' (known: ${Object.keys(FILTERS).join(', ')})`);
  return f;
}

export function createFilter(name: string, params: Record<string, string>, ctx: FilterContext): Filter {
  return lookup(name).factory(params, ctx);
}

/** Every key (and alias) a filter accepts: the CLI routes bare key=value arguments with it. */
export function filterParamNames(name: string): string[] {
  return allKeys(lookup(name).params);
}
