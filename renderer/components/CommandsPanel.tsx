import { setUi, useUi } from '../store/store.ts';

/** The commands that build the current layout from a client, URIs filled in. */
export function CommandsPanel() {
  const commands = useUi((s) => s.commands);
  if (!commands) return null;
  return (
    <aside className="commands" data-testid="commands">
      <header>
        <strong>Build it from a client</strong>
        <button onClick={() => setUi({ commands: null })} aria-label="close">
          ×
        </button>
      </header>
      {commands.map((c, i) => (
        <pre key={i} onClick={() => void navigator.clipboard?.writeText(c)} title="click to copy">
          {c}
        </pre>
      ))}
    </aside>
  );
}
