// Electron main process: owns the engine (server/), one window, one IPC choke point.
// Kept thin: the logic lives in tested modules (ipc.ts, channels.ts, window-*.ts) and server/.

import { BrowserWindow, Menu, app, dialog, ipcMain, session, shell } from 'electron';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ControlApi } from '../server/control/api.ts';
import { CSP } from '../server/control/http.ts';
import { setDiskWorkerSpawner } from '../server/data-path/worker-data-path.ts';
import { Engine } from '../server/engine.ts';
// Each served disk's data path runs in a worker thread (never on this, the UI's main process
// thread); electron-vite bundles the worker as its own chunk and gives back its constructor.
import createDiskWorker from '../server/data-path/disk-worker.ts?nodeWorker';
import { FramePump } from '../server/events/frame-pump.ts';
import { presetSpecs, type PresetOptions } from '../server/presets.ts';
import type { ServerPush } from '../server/shared/types.ts';
import { RAID5, SINGLE, type Demo } from '../server/demos/demos.ts';
import { runDemo } from '../server/demos/driver.ts';
import { DEFAULT_RECORD_LIMIT, LiveRecording } from '../server/timeline/live.ts';
import { CHANNELS } from './channels.ts';
import { launchOptions } from './launch-options.ts';
import { registerIpc } from './ipc.ts';
import { windowOptions } from './window-options.ts';
import { loadWindowState, saveWindowState } from './window-state.ts';

setDiskWorkerSpawner(createDiskWorker);
const engine = new Engine();
let win: BrowserWindow | null = null;
let recording: LiveRecording | null = null;

/** File → Save recording…: a copy of the time machine's recording, where the user says. */
async function saveRecording(): Promise<void> {
  if (!engine.timeline) {
    void dialog.showMessageBox({ type: 'info', message: 'Nothing is being recorded.' });
    return;
  }
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const r = await dialog.showSaveDialog({
    title: 'Save recording',
    defaultPath: join(app.getPath('documents'), `blockscope-${stamp}.bsrec`),
    filters: [{ name: 'Blockscope recording', extensions: ['bsrec'] }],
  });
  if (r.canceled || !r.filePath) return;
  try {
    const saved = await engine.timeline.save(r.filePath.endsWith('.bsrec') ? r.filePath : `${r.filePath}.bsrec`);
    engine.push({ event: 'status', level: 'info', message: `recording saved: ${saved.path}` });
  } catch (err) {
    void dialog.showMessageBox({
      type: 'error',
      message: 'The recording could not be saved',
      detail: (err as Error).message,
    });
  }
}
const launch = launchOptions(process.argv);
for (const e of launch.errors) console.error(`blockscope: ${e}`);

/** The original demo's disk: 64 MiB, log + 40 ms delay; nbd://127.0.0.1:10809 if free. */
async function startDefaultDisk(): Promise<PresetOptions> {
  const logDir = join(app.getPath('userData'), 'logs');
  mkdirSync(logDir, { recursive: true });
  const base: PresetOptions = { host: '127.0.0.1', port: 10809, unixDir: null, size: 64n << 20n, delayMs: 40, logDir };
  try {
    await engine.serve(presetSpecs('single', base));
  } catch {
    base.port = 0; // 10809 is taken (another Blockscope or nbdkit): any free port
    await engine.serve(presetSpecs('single', base));
  }
  engine.preset = 'single';
  return base;
}

let demoRunning = false;
/** Demo menu: wait for the presenter (N / → in the page) between steps. */
let demoStepMode = false;

/** The Demo menu: the demo replaces the disk set and narrates itself in this window. */
async function runAppDemo(demo: Demo): Promise<void> {
  if (demoRunning) return;
  demoRunning = true;
  try {
    const run = await runDemo(demo, { engine, delayMs: 40, stepMode: demoStepMode });
    await run.close();
    engine.push({
      event: 'status',
      level: run.report.ok ? 'info' : 'error',
      message: `${demo.title}: ${run.report.ok ? 'finished' : 'guestfish failed'} in ${run.report.seconds.toFixed(0)} s`,
    });
  } catch (err) {
    void dialog.showMessageBox({ type: 'error', message: 'The demo could not run', detail: (err as Error).message });
  } finally {
    demoRunning = false;
  }
}

function send(channel: string, payload: unknown): void {
  if (win && !win.isDestroyed()) win.webContents.send(channel, payload);
}

/** Presentation mode from the menu: full screen here, big grids and a thin strip in the page. */
function togglePresentation(): void {
  if (!win || win.isDestroyed()) return;
  win.setFullScreen(!win.isFullScreen());
  send(CHANNELS.push, { event: 'action', action: 'presentation' } satisfies ServerPush);
}

function buildMenu(): void {
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      {
        label: 'File',
        submenu: [
          { label: 'Save recording…', accelerator: 'CmdOrCtrl+S', click: () => void saveRecording() },
          { type: 'separator' },
          { role: 'quit' },
        ],
      },
      {
        label: 'View',
        submenu: [
          // No accelerator: the page's own F key does the same, and a menu accelerator would
          // also fire while typing into a field.
          { label: 'Presentation mode (F)', click: () => togglePresentation() },
          { type: 'separator' },
          { role: 'reload' },
          { role: 'toggleDevTools' },
          { role: 'togglefullscreen' },
        ],
      },
      {
        label: 'Demo',
        submenu: [
          { label: "A filesystem's life on one disk", click: () => void runAppDemo(SINGLE) },
          { label: 'RAID 5 rebuild after a disk fails', click: () => void runAppDemo(RAID5) },
          { type: 'separator' },
          {
            label: 'Step by step (N or → for the next step)',
            type: 'checkbox',
            checked: demoStepMode,
            click: (item) => (demoStepMode = item.checked),
          },
        ],
      },
      {
        label: 'Help',
        submenu: [
          {
            label: 'Demos',
            click: () =>
              void dialog.showMessageBox({
                type: 'info',
                title: 'Blockscope demos',
                message: 'The demos are described in the README, section "Demos".',
                detail:
                  "npm run demo -- single   (a filesystem's life on one disk)\nnpm run demo -- raid5    (RAID 5 rebuild onto a hot spare)\n\nOr use the Demo menu to run one in this window. Details: docs/demos.md.",
              }),
          },
        ],
      },
    ]),
  );
}

async function createWindow(): Promise<void> {
  const statePath = join(app.getPath('userData'), 'window.json');
  const state = loadWindowState(statePath);
  win = new BrowserWindow(windowOptions(state, join(import.meta.dirname, '../preload/preload.cjs')));
  if (state.maximized) win.maximize();
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https?:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.on('close', () => {
    if (!win) return;
    const b = win.getBounds();
    saveWindowState(statePath, { ...b, maximized: win.isMaximized() });
  });
  win.once('ready-to-show', () => {
    win?.show();
    if (launch.fullscreen) win?.setFullScreen(true);
  });
  win.webContents.on('did-finish-load', () => {
    for (const m of engine.greeting()) send(CHANNELS.push, m);
  });
  await win.loadFile(join(import.meta.dirname, '../renderer/index.html'), { query: launch.query });
}

app.whenReady().then(async () => {
  session.defaultSession.webRequest.onHeadersReceived((details, cb) =>
    cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } }),
  );
  const presetDefaults = await startDefaultDisk();
  // The time machine records every session by default (a temporary ring; File → Save recording…).
  recording = await LiveRecording.start(engine, { path: null, limit: DEFAULT_RECORD_LIMIT });
  const api = new ControlApi(engine, presetDefaults);
  const pump = new FramePump(engine);
  registerIpc(ipcMain, () => win?.webContents, api);
  pump.subscribe((buf) => send(CHANNELS.batch, buf));
  engine.onPush((m) => send(CHANNELS.push, m));
  const pushDisks = () =>
    send(CHANNELS.push, { event: 'disks', disks: engine.disks.map((d) => d.info()) } satisfies ServerPush);
  engine.onChange(pushDisks);
  setInterval(pushDisks, 1000).unref();
  buildMenu();
  await createWindow();
  for (const d of engine.disks) console.log(`disk${d.number} ${d.path?.uris.join(' ')}`);
});

app.on('window-all-closed', () => app.quit());
let closing = false;
app.on('before-quit', (e) => {
  if (closing) return;
  closing = true;
  e.preventDefault(); // close the NBD servers and logs cleanly, then quit for real
  void (recording?.close() ?? Promise.resolve())
    .catch(() => {})
    .then(() => engine.closeAll())
    .finally(() => app.quit());
});
