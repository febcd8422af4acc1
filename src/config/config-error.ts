/** One problem in a config file, with the path of the offending value. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** The config could not be used; `issues` lists every problem found, not just the first. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source = 'config') {
    super(`${source} is invalid:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
