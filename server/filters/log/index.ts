// The log filter: writes every request to a file in nbdkit 1.32's log format, so tools that
// read nbdkit logs (and Blockscope's own attach mode) read ours too. Requests are logged twice:
// an ENTER line before calling next and a LEAVE line with the result — on every exit path.

import type { ConnectionInfo, Next, RequestContext } from '../../backends/backend.ts';
import { CMD_FLAG } from '../../shared/types.ts';
import type { Filter, FilterFactory, ParamSpec } from '../filter.ts';
import { ParamError, canonicalKey, parseBool } from '../params.ts';
import { errnoOf, formatExtents, hex, line, nowEpochUs, result, shellQuote } from './format.ts';
import { LogSink } from './sink.ts';

export const LOG_PARAMS: readonly ParamSpec[] = [
  { name: 'logfile', help: '=FILE        The file to log to.' },
  { name: 'logappend', help: '=BOOL        Append to the log instead of truncating it (default false).' },
];

/** The log file opened, or a ParamError that names the parameter (fs errors name only the path). */
function openSink(logfile: string, append: boolean): LogSink {
  try {
    return new LogSink(logfile, append);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'no such directory' // opening for writing creates the file: only its directory can be missing
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new ParamError(`logfile=${logfile}: ${why}`);
  }
}

const flag = (flags: number, bit: number) => ((flags & bit) !== 0 ? 1 : 0);

export const createLogFilter: FilterFactory = (params) => {
  let logfile: string | null = null;
  let append = false;
  for (const [k, v] of Object.entries(params)) {
    const name = canonicalKey('log', LOG_PARAMS, k);
    if (name === 'logfile') logfile = v;
    else append = parseBool(k, v);
  }
  if (!logfile) throw new ParamError('filter log: logfile=FILE is required (logscript is not supported)');
  const sink = openSink(logfile, append);

  /** Per-connection request ids (nbdkit's get_id), and server-wide ids for Preconnect/ListExports. */
  const ids = new Map<number, number>();
  let preconnectId = 0;
  let listId = 0;

  const print = (conn: number | null, act: string, args: string) =>
    sink.write(line(nowEpochUs(), conn, 'print', act, null, args));

  /** ENTER, call, LEAVE (with the error if it throws). */
  async function logged<T>(
    conn: ConnectionInfo,
    act: string,
    args: string,
    call: () => Promise<T>,
    leave?: (r: T) => string,
  ): Promise<T> {
    const id = (ids.get(conn.id) ?? 0) + 1;
    ids.set(conn.id, id);
    sink.write(line(nowEpochUs(), conn.id, 'enter', act, id, args));
    try {
      const r = await call();
      sink.write(line(nowEpochUs(), conn.id, 'leave', act, id, leave ? `${leave(r)} return=0` : 'return=0'));
      return r;
    } catch (err) {
      sink.write(line(nowEpochUs(), conn.id, 'leave', act, id, result(errnoOf(err))));
      throw err;
    }
  }

  function loggedRead<T>(c: RequestContext, offset: bigint, count: number, call: () => Promise<T>): Promise<T> {
    return logged(c.connection, 'Read', `offset=${hex(offset)} count=${hex(count)}`, call);
  }

  /** Server-wide ENTER/LEAVE pair with its own counter (Preconnect, ListExports). */
  function serverPair(act: string, id: number, args: string, leaveArgs: string): void {
    sink.write(line(nowEpochUs(), null, 'enter', act, id, args));
    sink.write(line(nowEpochUs(), null, 'leave', act, id, leaveArgs));
  }

  const filter: Filter = {
    name: 'log',
    longname: 'Blockscope log filter',
    params: LOG_PARAMS,

    describe() {
      return { logfile, logappend: append };
    },

    ready() {
      // Blockscope runs every request in parallel: nbdkit's NBDKIT_THREAD_MODEL_PARALLEL.
      print(null, 'Ready', 'thread_model=3');
    },
    open(_next, conn) {
      serverPair('Preconnect', ++preconnectId, `readonly=${conn.readonly ? 1 : 0}`, 'return=0');
    },
    listExports(next, conn) {
      serverPair(
        'ListExports',
        ++listId,
        `readonly=${conn.readonly ? 1 : 0} tls=${conn.tls ? 1 : 0}`,
        `exports=(${shellQuote(conn.exportName)}) return=0`,
      );
    },
    prepare(next: Next, conn) {
      const ro = conn.readonly || !next.canWrite();
      const bs = next.blockSize();
      const args = [
        `export=${shellQuote(conn.exportName)}`,
        `tls=${conn.tls ? 1 : 0}`,
        `size=${hex(next.getSize())}`,
        `minsize=${hex(bs?.minimum ?? 0)}`,
        `prefsize=${hex(bs?.preferred ?? 0)}`,
        `maxsize=${hex(bs?.maximum ?? 0)}`,
        `write=${ro ? 0 : 1}`,
        `flush=${next.canFlush() ? 1 : 0}`,
        `rotational=${next.isRotational() ? 1 : 0}`,
        `trim=${!ro && next.canTrim() ? 1 : 0}`,
        `zero=${ro ? 0 : next.canZero()}`,
        // As nbdkit's backend_can_fua: NONE when the export cannot write.
        `fua=${ro ? 0 : next.canFua()}`,
        `extents=${next.canExtents() ? 1 : 0}`,
        `cache=${next.canCache()}`,
        `fast_zero=${!ro && next.canFastZero() ? 1 : 0}`,
      ];
      ids.set(conn.id, 0);
      print(conn.id, 'Connect', args.join(' '));
    },
    close(_next, conn) {
      print(conn.id, 'Disconnect', `transactions=${ids.get(conn.id) ?? 0}`);
      ids.delete(conn.id);
    },
    dispose() {
      sink.close();
    },

    pread(next, buf, offset, flags, c) {
      return loggedRead(c, offset, buf.length, () => next.pread(buf, offset, flags, c));
    },
    // The same line whether the data is copied or lent.
    lend(next, count, offset, flags, c) {
      return loggedRead(c, offset, count, () => next.lend!(count, offset, flags, c));
    },
    pwrite(next, buf, offset, flags, c) {
      const args = `offset=${hex(offset)} count=${hex(buf.length)} fua=${flag(flags, CMD_FLAG.FUA)}`;
      return logged(c.connection, 'Write', args, () => next.pwrite(buf, offset, flags, c));
    },
    flush(next, flags, c) {
      return logged(c.connection, 'Flush', '', () => next.flush(flags, c));
    },
    trim(next, count, offset, flags, c) {
      const args = `offset=${hex(offset)} count=${hex(count)} fua=${flag(flags, CMD_FLAG.FUA)}`;
      return logged(c.connection, 'Trim', args, () => next.trim(count, offset, flags, c));
    },
    zero(next, count, offset, flags, c) {
      // trim= is "may trim", i.e. NO_HOLE not set.
      const args =
        `offset=${hex(offset)} count=${hex(count)} trim=${flags & CMD_FLAG.NO_HOLE ? 0 : 1} ` +
        `fua=${flag(flags, CMD_FLAG.FUA)} fast=${flag(flags, CMD_FLAG.FAST_ZERO)}`;
      return logged(c.connection, 'Zero', args, () => next.zero(count, offset, flags, c));
    },
    extents(next, count, offset, flags, c) {
      const reqOne = (flags & CMD_FLAG.REQ_ONE) !== 0;
      const args = `offset=${hex(offset)} count=${hex(count)} req_one=${reqOne ? 1 : 0}`;
      return logged(
        c.connection,
        'Extents',
        args,
        () => next.extents(count, offset, flags, c),
        (e) => formatExtents(offset, count, e, reqOne),
      );
    },
    cache(next, count, offset, flags, c) {
      return logged(c.connection, 'Cache', `offset=${hex(offset)} count=${hex(count)}`, () =>
        next.cache(count, offset, flags, c),
      );
    },
  };
  return filter;
};
