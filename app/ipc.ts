// The only place IPC handlers are registered. Every call is checked twice: the sender must be
// our window, and the payload must validate. Electron's ipcMain is passed in (structurally
// typed) so this file has no electron import and unit-tests with a stub.

import { CHANNELS, validateControlPayload } from './channels.ts';

export interface IpcMainLike {
  handle(channel: string, listener: (event: { sender: unknown }, ...args: unknown[]) => unknown): void;
}

export interface ControlLike {
  call(method: string, params: unknown): Promise<unknown>;
}

/**
 * No control token here, unlike HTTP and WebSocket: IPC reaches only the app's own window, and
 * the sender check is that window's proof of identity.
 */
export function registerIpc(ipcMain: IpcMainLike, allowedSender: () => unknown, api: ControlLike): void {
  ipcMain.handle(CHANNELS.control, async (event, payload) => {
    try {
      const expected = allowedSender();
      if (!expected || event?.sender !== expected) throw new Error('IPC from an unknown sender refused');
      const { method, params } = validateControlPayload(payload);
      return await api.call(method, params);
    } catch (err) {
      // Whatever failed, the renderer gets a plain Error with a message (no internals, no odd objects).
      throw new Error(err instanceof Error ? err.message : `control call failed: ${String(err)}`, { cause: err });
    }
  });
}
