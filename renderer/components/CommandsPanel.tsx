import { copyText } from '../engine-calls.ts';
import { setUi, useUi } from '../store/store.ts';
import { useDialogFocus } from './dialog-focus.ts';

/** The commands that build the current layout from a client, URIs filled in. */
export function CommandsPanel() {
  const commands = useUi((s) => s.commands);
  return commands ? <CommandsDialog commands={commands} /> : null;
}

/** Mounted while open: it takes the focus then and gives it back on close (dialog-focus.ts). */
function CommandsDialog({ commands }: { commands: string[] }) {
  const copied = useUi((s) => s.copied);
  const ref = useDialogFocus<HTMLElement>();
  return (
    <aside
      className="commands dialog"
      data-testid="commands"
      role="dialog"
      aria-label="Build it from a client"
      tabIndex={-1}
      ref={ref}
    >
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
