// The `blockscope` command: serve | attach | replay. Each subcommand lives in server/cli/.
import { CliError } from './cli/args.ts';

const USAGE = `usage: blockscope <command> [options]

commands:
  serve    run NBD disks with the embedded server (see: blockscope serve --help)
  attach   watch an external nbdkit through its log files (blockscope attach --help)
  replay   play a recording, or finished nbdkit/Blockscope logs (blockscope replay --help)
  export   PNG or WebM of a recording, headless (blockscope export --help)
  map      what each block of a disk image or live disk is (blockscope map --help)
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'serve':
      return (await import('./cli/serve.ts')).main(rest);
    case 'attach':
      return (await import('./cli/attach.ts')).main(rest);
    case 'replay':
      return (await import('./cli/replay.ts')).main(rest);
    case 'export':
      return (await import('./cli/export.ts')).main(rest);
    case 'map':
      return (await import('./cli/map.ts')).main(rest);
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case undefined:
      process.stderr.write(USAGE);
      return 2;
    default:
      throw new CliError(`unknown command '${cmd}' (commands: serve, attach, replay, export, map)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof CliError) {
      console.error(`blockscope: ${err.message}`);
      process.exitCode = 2;
    } else {
      console.error(`blockscope: ${(err as Error)?.stack ?? err}`);
      process.exitCode = 1;
    }
    // Whatever was already started (a tailer, a listener) must not keep a failed command alive.
    setTimeout(() => process.exit(), 500).unref();
  },
);
