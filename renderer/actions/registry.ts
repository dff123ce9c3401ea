// User actions as declarative objects: a name, a label, shortcut keys, when it applies, and what
// it does. Toolbar buttons, per-disk controls, keyboard shortcuts, the shortcut help and the
// desktop app's menu all go through the same registry, so a key and its button can never
// disagree. (Modelled on excalidraw's actions/register.ts.)
//
// Keys in use (keep this list current):
//   Space/P pause view · H hold I/O · C clear · T palette · F presentation · 1–9 enlarge disk ·
//   + − 0 zoom · N/PageDown/→ next demo step · ? shortcuts · Esc back out · S structure overlay

import { engineOffline, type UiState } from '../store/store.ts';

export interface ActionContext<C> {
  c: C;
  s: UiState;
}

export interface Action<C = unknown> {
  name: string;
  /** Button text (may depend on state, e.g. Pause/Resume; `disk` for per-disk actions). */
  label: string | ((s: UiState, disk?: number) => string);
  /** A unique accessible name when the label alone is ambiguous ("Disk 3 errors"). */
  ariaLabel?: (s: UiState, disk?: number) => string;
  /** What it does, for tooltips and the shortcut help. */
  description: string;
  /** KeyboardEvent.key values (letters match either case). */
  keys?: readonly string[];
  /** Turns the key pressed into the disk argument (number keys). */
  keyDisk?: (key: string) => number | undefined;
  /** Whether it applies now (e.g. not in attach mode): buttons are hidden, keys ignored. */
  available?: (s: UiState, disk?: number) => boolean;
  /** It asks the engine (a toggle, a preset…): disabled while the engine is unreachable. */
  engine?: boolean | ((s: UiState) => boolean);
  /** For toggles: aria-pressed. */
  pressed?: (s: UiState, disk?: number) => boolean;
  perform(ctx: ActionContext<C>, disk?: number): void | Promise<void>;
}

export class ActionRegistry<C> {
  private actions = new Map<string, Action<C>>();

  constructor(private readonly context: () => ActionContext<C>) {}

  register(a: Action<C>): void {
    if (this.actions.has(a.name)) throw new Error(`action '${a.name}' registered twice`);
    for (const k of a.keys ?? []) {
      const other = [...this.actions.values()].find((x) => x.keys?.some((y) => keyMatches(y, k)));
      if (other) throw new Error(`key '${k}' of '${a.name}' is taken by '${other.name}'`);
    }
    this.actions.set(a.name, a);
  }

  get(name: string): Action<C> {
    const a = this.actions.get(name);
    if (!a) throw new Error(`no action '${name}'`);
    return a;
  }

  has(name: string): boolean {
    return this.actions.has(name);
  }

  all(): Action<C>[] {
    return [...this.actions.values()];
  }

  isAvailable(name: string, disk?: number): boolean {
    const a = this.actions.get(name);
    return !!a && (a.available?.(this.context().s, disk) ?? true);
  }

  label(a: Action<C>, s: UiState, disk?: number): string {
    return typeof a.label === 'function' ? a.label(s, disk) : a.label;
  }

  /** Why the action, which applies, cannot run now ('' when it can): it needs the engine, which is unreachable. */
  blockedWhy(a: Action<C>, s: UiState): string {
    const needsEngine = typeof a.engine === 'function' ? a.engine(s) : !!a.engine;
    return needsEngine ? engineOffline(s) : '';
  }

  /** Run an action by name; false when it does not apply now or cannot run (blockedWhy). */
  run(name: string, disk?: number): boolean {
    const a = this.actions.get(name);
    if (!a) return false;
    const ctx = this.context();
    if (a.available && !a.available(ctx.s, disk)) return false;
    if (this.blockedWhy(a, ctx.s)) return false;
    void Promise.resolve(a.perform(ctx, disk)).catch((err) => console.error(`action ${name}:`, err));
    return true;
  }

  /** The action a key press means, with its disk argument. */
  forKey(key: string): { action: Action<C>; disk?: number } | null {
    for (const a of this.actions.values()) {
      if (a.keyDisk) {
        const disk = a.keyDisk(key);
        if (disk !== undefined) return { action: a, disk };
      }
      if (a.keys?.some((k) => keyMatches(k, key))) return { action: a };
    }
    return null;
  }
}

function keyMatches(declared: string, pressed: string): boolean {
  return declared.length === 1 ? declared.toLowerCase() === pressed.toLowerCase() : declared === pressed;
}

/** "Space", "P" … as shown on buttons and in the help. */
export function keyLabel(k: string): string {
  if (k === ' ') return 'Space';
  if (k === 'ArrowRight') return '→';
  return k.length === 1 ? k.toUpperCase() : k;
}

export function shortcutText(a: Action<unknown>): string {
  return (a.keys ?? []).map(keyLabel).join(' / ');
}
