/**
 * The small frame every `boxwire ops …` subcommand uses: node:util parseArgs (strict, so a
 * typo'd flag is an error, not silently ignored), `--help` everywhere, and one place that turns
 * expected failures (bad config, failed step) into plain messages and exit code 1.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigValidationError } from '../src/config/index.js';
import { BoxwireError } from '../src/core/errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface SubCommand {
  summary: string;
  /** The usage text after `Usage: boxwire ops …`: the command line and one line per option. */
  usage: string;
  options: Options;
  run(values: Values, positionals: string[]): Promise<number>;
}

/** A command with subcommands (`ops`, `ops mongo`, `ops lb`): dispatches on the first word. */
export interface CommandGroup {
  summary: string;
  path: string;
  commands: Record<string, SubCommand | CommandGroup>;
}

function isGroup(command: SubCommand | CommandGroup): command is CommandGroup {
  return 'commands' in command;
}

export function groupUsage(group: CommandGroup): string {
  const width = Math.max(...Object.keys(group.commands).map((n) => n.length)) + 2;
  const lines = Object.entries(group.commands).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return [`Usage: ${group.path} <command> [options]`, '', group.summary, '', 'Commands:', ...lines, '', `Run \`${group.path} <command> --help\` for its options.`].join('\n');
}

export async function runGroup(group: CommandGroup, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(groupUsage(group));
    return name ? 0 : 1;
  }
  const command = group.commands[name];
  if (!command) {
    console.error(`${group.path}: unknown command '${name}'\n\n${groupUsage(group)}`);
    return 1;
  }
  return isGroup(command) ? runGroup(command, rest) : runSubCommand(`${group.path} ${name}`, command, rest);
}

export async function runSubCommand(path: string, command: SubCommand, argv: string[]): Promise<number> {
  const usage = `Usage: ${path} ${command.usage}\n\n${command.summary}`;
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    console.error(`${path}: ${(error as Error).message}\n\n${usage}`);
    return 1;
  }
  if (parsed.values.help) {
    console.log(usage);
    return 0;
  }
  try {
    return await command.run(parsed.values, parsed.positionals);
  } catch (error) {
    return reportFailure(path, error);
  }
}

/** Expected failures print as plain lines; anything else is a bug and keeps its stack. */
export function reportFailure(path: string, error: unknown): number {
  if (error instanceof ConfigValidationError) {
    console.error(`${path}: ${error.message}`);
  } else if (error instanceof BoxwireError) {
    console.error(`${path}: ${error.message}`);
  } else {
    console.error(error);
  }
  return 1;
}

/** Prints a generated config, or writes it to `--out` (with `--dry-run`: says what it would write). */
export function emitConfig(values: Values, text: string): number {
  const out = values.out;
  if (typeof out === 'string' && !values['dry-run']) {
    writeFileSync(out, text);
    console.error(`wrote ${out}`);
  } else {
    if (typeof out === 'string') console.error(`would write ${out}:`);
    process.stdout.write(text);
  }
  return 0;
}

/** The one option nearly every subcommand takes. */
export function requireConfigPath(values: Values): string {
  const path = values.config ?? process.env.BOXWIRE_CONFIG;
  if (typeof path !== 'string' || path === '') throw new MissingOptionError('--config FILE (or env BOXWIRE_CONFIG) is required');
  return path;
}

class MissingOptionError extends BoxwireError {
  constructor(message: string) {
    super('BOXWIRE_CONFIG', message);
  }
}
