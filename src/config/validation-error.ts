import { ConfigError } from '../core/errors.js';

/** The config is invalid; `problems` holds one line per problem, each naming its key. */
export class ConfigValidationError extends ConfigError {
  readonly problems: string[];
  constructor(problems: string[], source = 'cluster config') {
    super(`invalid ${source}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.problems = problems;
  }
}
