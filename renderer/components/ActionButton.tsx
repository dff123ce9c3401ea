import { shortcutText } from '../actions/registry.ts';
import { useUi } from '../store/store.ts';
import { useActions } from './context.ts';

/**
 * A button for a registered action: its label, accessible name, pressed state and shortcut
 * come from the registry, and a click runs the same path as the key. Hidden when the action
 * does not apply (attach mode has no presets, replay has no Error toggle…); disabled, saying
 * why, when it applies but cannot run now (it needs the engine and the page is disconnected).
 */
export function ActionButton({ name, disk, className }: { name: string; disk?: number; className?: string }) {
  const registry = useActions();
  const a = registry.get(name);
  // One string from the store, so the button re-renders only when what it shows changes.
  const view = useUi((s) => {
    if (a.available && !a.available(s, disk)) return '';
    const pressed = a.pressed ? (a.pressed(s, disk) ? '1' : '0') : '-';
    return [pressed, registry.label(a, s, disk), a.ariaLabel?.(s, disk) ?? '', registry.blockedWhy(a, s)].join(
      '\u0000',
    );
  });
  if (!view) return null;
  const [pressed, label, aria, blocked] = view.split('\u0000');
  const keys = shortcutText(a);
  return (
    <button
      type="button"
      className={`${className ?? ''} ${pressed === '1' ? 'active' : ''}`.trim()}
      aria-pressed={pressed === '-' ? undefined : pressed === '1'}
      aria-label={aria || undefined}
      aria-keyshortcuts={a.keys?.map((k) => (k === ' ' ? 'Space' : k)).join(' ') || undefined}
      title={blocked || (keys ? `${a.description} (${keys})` : a.description)}
      disabled={!!blocked}
      aria-disabled={blocked ? true : undefined}
      onClick={() => registry.run(name, disk)}
      data-action={name}
    >
      {label}
    </button>
  );
}
