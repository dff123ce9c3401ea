import { copyText } from '../engine-calls.ts';
import { setUi, useUi } from '../store/store.ts';

/** The commands that build the current layout from a client, URIs filled in. */
export function CommandsPanel() {
  const commands = useUi((s) => s.commands);
  const copied = useUi((s) => s.copied);
  if (!commands) return null;
  return (
    <aside className="commands dialog" data-testid="commands" role="dialog" aria-label="Build it from a client">
      <header>
        <strong>Build it from a client</strong>
        <button type="button" onClick={() => setUi({ commands: null })} aria-label="close the commands">
          ×
        </button>
      </header>
      {commands.length === 0 && <p className="muted">No commands for this layout.</p>}
      {commands.map((cmd, i) => {
        const key = `cmd-${i}`;
        const state = copied?.key === key ? copied : null;
        return (
          <div className="command" key={i}>
            <pre aria-label={`command ${i + 1}`}>{cmd}</pre>
            <button
              type="button"
              className="small"
              onClick={() => void copyText(cmd, key, `command ${i + 1}`)}
              aria-label={`Copy command ${i + 1}`}
            >
              {state ? (state.ok ? 'Copied ✓' : 'Copy failed') : 'Copy'}
            </button>
          </div>
        );
      })}
    </aside>
  );
}
