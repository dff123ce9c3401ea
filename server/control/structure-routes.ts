// REST routes of the structure API (docs/structure.md): GET only, mapped onto control calls.
//   /api/disks/:n/map[?from=BYTE&limit=N]   labelled ranges of a disk
//   /api/disks/:n/blocks/:block             the chain of one 4 KiB block
//   /api/disks/:n/overlay                   per-cell kinds for the overlay
//   /api/structure                          status (version, stale, warnings)
//   /api/structure/objects[/:id]            files and structures; one object's blocks on every disk
//   /api/structure/arrays                   md arrays: members, roles, stripes written/rebuilt
//   /api/structure/activity[?disk=N&seconds=S]  what the last S (5) seconds' requests touched, in words

export function structureRoute(
  method: string,
  path: string,
  query: URLSearchParams,
): { call: string; params: unknown } | null {
  if (method !== 'GET') return null;
  let m: RegExpExecArray | null;
  const num = (v: string | null) => (v === null ? undefined : /^\d+$/.test(v) ? Number(v) : v);
  if ((m = /^\/api\/disks\/(\d+)\/map$/.exec(path)))
    return {
      call: 'diskMap',
      params: { disk: Number(m[1]), from: query.get('from') ?? undefined, limit: num(query.get('limit')) },
    };
  if ((m = /^\/api\/disks\/(\d+)\/blocks\/(\d+)$/.exec(path)))
    return { call: 'blockChain', params: { disk: Number(m[1]), block: Number(m[2]) } };
  if ((m = /^\/api\/disks\/(\d+)\/overlay$/.exec(path)))
    return { call: 'structureOverlay', params: { disk: Number(m[1]) } };
  if (path === '/api/structure') return { call: 'structureStatus', params: {} };
  if (path === '/api/structure/objects') return { call: 'structureObjects', params: {} };
  if ((m = /^\/api\/structure\/objects\/(.+)$/.exec(path)))
    return { call: 'objectBlocks', params: { id: safeDecode(m[1]) } };
  if (path === '/api/structure/arrays') return { call: 'arrayStatus', params: {} };
  if (path === '/api/structure/activity')
    return { call: 'structureActivity', params: { disk: num(query.get('disk')) } };
  return null;
}

/** A malformed %-escape is left as typed: the lookup then fails with "no structure object". */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
