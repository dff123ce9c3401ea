// `npm start` decides between the Electron app and the browser fallback. Pure, so it is tested
// (app/start-decision.test.ts); start.mjs gathers the facts and acts on the answer.

/**
 * @param {{ electronPath: string | null, electronExists: boolean, env: Record<string, string | undefined>,
 *           hasMainBuild: boolean, hasRendererBuild: boolean }} facts
 * @returns {{ mode: 'electron', build: boolean, reason: null }
 *         | { mode: 'browser', build: boolean, reason: string }}
 */
export function decideStart(facts) {
  const display = Boolean(facts.env.DISPLAY || facts.env.WAYLAND_DISPLAY);
  let reason = null;
  if (!facts.electronPath || !facts.electronExists) {
    reason = 'no Electron binary (install without ELECTRON_SKIP_BINARY_DOWNLOAD)';
  } else if (!display) {
    reason = 'no display (neither DISPLAY nor WAYLAND_DISPLAY is set)';
  }
  if (reason === null) return { mode: 'electron', build: !facts.hasMainBuild, reason: null };
  return { mode: 'browser', build: !facts.hasRendererBuild, reason };
}

/** The one line printed when falling back to the browser. */
export function fallbackLine(reason) {
  return `blockscope: ${reason} — serving the UI in your browser instead`;
}

/**
 * The glibc tunables the `blockscope` command's shebang sets, for the engine when `npm start`
 * runs it with Node (blockscope.mjs says why).
 */
export const ENGINE_TUNABLES = ['glibc.malloc.hugetlb=1'];

/**
 * `env` with each of `tunables` added to GLIBC_TUNABLES, unless the user's GLIBC_TUNABLES
 * already sets that tunable.
 * @param {Record<string, string | undefined>} env
 * @param {string[]} tunables
 */
export function withTunables(env, tunables) {
  const have = env.GLIBC_TUNABLES ? env.GLIBC_TUNABLES.split(':') : [];
  const set = new Set(have.map((t) => t.split('=')[0]));
  const add = tunables.filter((t) => !set.has(t.split('=')[0]));
  return add.length ? { ...env, GLIBC_TUNABLES: [...have, ...add].join(':') } : env;
}
