import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * What `start` and `status` share: strict node:util parseArgs (a mistyped flag is an error),
 * `--help`, and a required `--config`. Returns the values, or the exit code when the command
 * should end here (help printed, or a usage error explained on stderr).
 */
export function parseCommandArgs<V extends { config?: string; help?: boolean }>(
  command: string, argv: string[], options: Options, usage: string,
): { values: V & { config: string } } | { exitCode: number } {
  let values: V;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options: { ...options, help: { type: 'boolean', short: 'h' } } }) as unknown as { values: V });
  } catch (error) {
    console.error(`boxwire ${command}: ${(error as Error).message}\n\n${usage}`);
    return { exitCode: 1 };
  }
  if (values.help) {
    console.log(usage);
    return { exitCode: 0 };
  }
  if (!values.config) {
    console.error(`boxwire ${command}: --config FILE is required\n\n${usage}`);
    return { exitCode: 1 };
  }
  return { values: values as V & { config: string } };
}
