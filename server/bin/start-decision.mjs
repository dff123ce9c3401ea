// What `npm start` should do on this machine: the Electron window when it can, otherwise the
// same UI served to a browser. Pure, so it is unit-tested.

/**
 * @param {{ electronBinary: string | null, binaryExists: boolean, env: Record<string, string | undefined> }} o
 * @returns {{ mode: 'electron' } | { mode: 'browser', reason: string }}
 */
export function decideStart(o) {
  if (!o.electronBinary || !o.binaryExists) {
    return { mode: 'browser', reason: 'no Electron binary (installed with ELECTRON_SKIP_BINARY_DOWNLOAD, or its download failed)' };
  }
  if (!o.env.DISPLAY && !o.env.WAYLAND_DISPLAY) return { mode: 'browser', reason: 'no display (DISPLAY/WAYLAND_DISPLAY unset)' };
  return { mode: 'electron' };
}
