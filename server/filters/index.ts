// Filter registry. STUB: replaced by the filters work (log, error, delay).
import type { Filter, FilterContext, FilterFactory } from './filter.ts';

export const FILTERS: Record<string, FilterFactory> = {};

export function createFilter(name: string, params: Record<string, string>, ctx: FilterContext): Filter {
  const factory = FILTERS[name];
  if (!factory) throw new Error(`unknown filter '${name}' (known: ${Object.keys(FILTERS).join(', ') || 'none'})`);
  return factory(params, ctx);
}
