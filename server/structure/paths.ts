// A file's path from the (parent, name) links its filesystem's directories give, shared by the
// decoders that walk inodes (ext, XFS). Bounded: a corrupt loop of parents gives no path.

export type NameLinks<K> = Map<K, { parent: K; name: string }>;

const MAX_DEPTH = 256;

/** "/a/b/c" for `ino`, "/" for the root, null when a link is missing or the chain loops. */
export function pathOf<K>(ino: K, root: K, names: NameLinks<K>): string | null {
  if (ino === root) return '/';
  const parts: string[] = [];
  let at = ino;
  for (let depth = 0; depth < MAX_DEPTH && at !== root; depth++) {
    const n = names.get(at);
    if (!n) return null;
    parts.push(n.name);
    at = n.parent;
  }
  return at === root ? '/' + parts.reverse().join('/') : null;
}
