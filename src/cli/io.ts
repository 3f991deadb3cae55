/** What a subcommand gets: its arguments and where to write. Exit codes: 0 ok, 1 failed, 2 usage. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** stderr is a terminal: progress lines go there only then, never into a log or a pipe. @default false */
  stderrIsTTY?: boolean;
}

export type Subcommand = (args: string[], io: CliIO) => Promise<number>;

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A usage problem: reported as one line and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
