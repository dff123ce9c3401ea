// The BrowserWindow options: the security settings live here, in one place, and are tested.
import type { WindowState } from './window-state.ts';

export function windowOptions(state: WindowState, preloadPath: string) {
  return {
    x: state.x,
    y: state.y,
    width: state.width,
    height: state.height,
    title: 'Blockscope',
    backgroundColor: '#16181d',
    show: false,
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      spellcheck: false,
    },
  };
}
