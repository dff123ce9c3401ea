import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getUi, setUi, store } from '../store/store.ts';
import { APP_ACTIONS } from './app-actions.ts';
import { STRUCTURE_ACTIONS } from './structure-actions.ts';
import { ActionRegistry, shortcutText } from './registry.ts';

const reset = () => store.setState(store.getInitialState(), true);

test('registry: one action per name and per key; keys and buttons run the same action', () => {
  const ran: string[] = [];
  const r = new ActionRegistry<null>(() => ({ c: null, s: getUi() }));
  r.register({ name: 'a', label: 'A', description: '', keys: ['x'], perform: () => void ran.push('a') });
  assert.throws(() => r.register({ name: 'a', label: 'A', description: '', perform: () => {} }), /twice/);
  assert.throws(
    () => r.register({ name: 'b', label: 'B', description: '', keys: ['X'], perform: () => {} }),
    /key 'X' of 'b' is taken by 'a'/,
  );
  r.register({
    name: 'only-when',
    label: 'W',
    description: '',
    keys: ['w'],
    available: (s) => s.paused,
    perform: () => void ran.push('w'),
  });
  assert.equal(r.forKey('X')?.action.name, 'a', 'letters match either case');
  assert.equal(r.run('only-when'), false, 'not available: not run');
  assert.equal(r.run('a'), true);
  assert.deepEqual(ran, ['a']);
});

test('the app actions: unique names and keys, S left free for the Structure overlay, help text for each', () => {
  reset();
  const r = new ActionRegistry<never>(() => ({ c: null as never, s: getUi() }));
  for (const a of APP_ACTIONS) r.register(a as never);
  assert.equal(r.forKey('s'), null, 'S is reserved');
  assert.equal(r.forKey(' ')?.action.name, 'pause');
  assert.equal(r.forKey('f')?.action.name, 'presentation');
  assert.deepEqual(r.forKey('3'), { action: r.get('enlarge'), disk: 3 });
  for (const a of r.all()) assert.ok(a.description.length > 5, `${a.name} says what it does`);
  assert.equal(shortcutText(r.get('pause')), 'Space / P');
});

test('per-disk actions have unique accessible names and apply only where they can', () => {
  reset();
  const disk = (number: number, mode: 'server' | 'attach' | 'replay') =>
    ({ number, mode, uris: mode === 'server' ? [`nbd://127.0.0.1:${number}`] : [], errorsOn: false }) as never;
  setUi({ disks: [disk(1, 'server'), disk(2, 'server')] });
  const get = (name: string) => APP_ACTIONS.find((a) => a.name === name)!;
  const names = ['toggleErrors', 'copyUri', 'clearDisk', 'resetDisk', 'details'].flatMap((n) =>
    [1, 2].map((d) => get(n).ariaLabel!(getUi(), d)),
  );
  assert.equal(new Set(names).size, names.length, `unique: ${names.join(', ')}`);
  assert.ok(names.includes('Disk 2 errors'));
  assert.equal(get('resetDisk').available!(getUi(), 1), true);
  setUi({ disks: [disk(1, 'attach')] });
  assert.equal(get('resetDisk').available!(getUi(), 1), false, 'attach mode cannot discard data');
  assert.equal(get('commands').available!(getUi()), false, 'attach mode has no client commands');
  assert.equal(get('copyUri').available!(getUi(), 1), false, 'no URI to copy');
  assert.equal(get('toggleErrors').available!(getUi(), 1), false, 'attached without --error-file: nothing to switch');
  setUi({ disks: [{ ...(disk(1, 'attach') as object), errorFile: '/tmp/error1' } as never] });
  assert.equal(get('toggleErrors').available!(getUi(), 1), true, 'attached with --error-file: the toggle makes it');
  setUi({ disks: [disk(1, 'replay')] });
  assert.equal(get('toggleErrors').available!(getUi(), 1), false, 'a replay has no Error toggle');
  reset();
});

test('Esc backs out one layer at a time: dialog, plots and export row, Structure overlay, enlarged disk, presentation', () => {
  reset();
  const c = { runAction: (n: string): boolean => r.run(n) };
  const r: ActionRegistry<typeof c> = new ActionRegistry(() => ({ c, s: getUi() }));
  for (const a of [...APP_ACTIONS, ...STRUCTURE_ACTIONS]) r.register(a as never);
  const server = { number: 1, mode: 'server', uris: ['nbd://127.0.0.1:1'], errorsOn: false };
  setUi({
    disks: [server, { ...server, number: 2 }] as never,
    popover: { kind: 'help' },
    plots: true,
    exportOpen: true,
    structureOn: true,
    enlarged: 2,
  });
  const layers = () => {
    const s = getUi();
    return [!!s.popover, s.plots || s.exportOpen, s.structureOn, s.enlarged !== null].map(Number).join('');
  };
  const seen = [layers()];
  for (let i = 0; i < 4; i++) {
    assert.equal(r.run('escape'), true);
    seen.push(layers());
  }
  assert.deepEqual(seen, ['1111', '0111', '0011', '0001', '0000']);
  reset();
});

test('while the page is disconnected, actions that ask the engine are disabled (and say why); local ones run', () => {
  reset();
  const r = new ActionRegistry<never>(() => ({ c: null as never, s: getUi() }));
  for (const a of APP_ACTIONS) r.register(a as never);
  setUi({ status: 'closed' });
  const s = getUi();
  for (const name of ['hold', 'clearAll', 'commands', 'toggleErrors', 'clearDisk', 'resetDisk'])
    assert.match(r.blockedWhy(r.get(name), s), /Disconnected from Blockscope/, name);
  for (const name of ['pause', 'palette', 'presentation', 'zoomIn', 'zoomOut', 'zoomReset', 'help', 'escape'])
    assert.equal(r.blockedWhy(r.get(name), s), '', name);
  assert.equal(r.run('clearAll'), false, 'not run: it could only fail');
  assert.equal(r.run('help'), true);
  assert.deepEqual(getUi().popover, { kind: 'help' });
  setUi({ status: 'open' });
  assert.equal(r.blockedWhy(r.get('clearAll'), getUi()), '');
  reset();
});
