// Preload (sandboxed, CommonJS): the renderer's only door to the engine. Exposes three
// functions on window.blockscope and nothing else; no Node or Electron object leaks through.

import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { CHANNELS } from './channels.ts';

function listen(channel: string, cb: (payload: unknown) => void): () => void {
  const handler = (_e: IpcRendererEvent, payload: unknown) => cb(payload);
  ipcRenderer.on(channel, handler);
  return () => void ipcRenderer.removeListener(channel, handler);
}

contextBridge.exposeInMainWorld('blockscope', {
  call(method: unknown, params: unknown): Promise<unknown> {
    if (typeof method !== 'string') return Promise.reject(new Error('method must be a string'));
    return ipcRenderer.invoke(CHANNELS.control, { method, params });
  },
  onBatch(cb: (buf: ArrayBuffer) => void): () => void {
    return listen(CHANNELS.batch, (p) => {
      if (p instanceof ArrayBuffer) cb(p);
    });
  },
  onPush(cb: (msg: unknown) => void): () => void {
    return listen(CHANNELS.push, cb);
  },
});
