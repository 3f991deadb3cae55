/**
 * The status page's token: what its two actions (cancel a trigger, stop a job) require in an
 * `Authorization: Bearer <token>` header. It comes from a file (`status_token_file` in the triggerer
 * config) or the environment (`SUPERVISOR_TRIGGERER_STATUS_TOKEN`), never from the command line,
 * where every user of the machine can read it. Without one the actions are refused, always.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InvalidStatusToken } from './errors.js';

/** The environment variable that holds the token. */
export const STATUS_TOKEN_ENV = 'SUPERVISOR_TRIGGERER_STATUS_TOKEN';
/** Fewer characters than this are too easy to guess. */
export const MIN_TOKEN_CHARS = 16;
const MAX_TOKEN_CHARS = 1024;

/** A loaded token: checks a request's header against it without leaking its value or length by timing. */
export class StatusToken {
  private readonly digest: Buffer;

  constructor(token: string, source: string) {
    if (token.length < MIN_TOKEN_CHARS || token.length > MAX_TOKEN_CHARS || /\s/.test(token)) {
      throw new InvalidStatusToken(
        `${source}: the status token must be ${MIN_TOKEN_CHARS} to ${MAX_TOKEN_CHARS} characters without spaces`,
      );
    }
    this.digest = sha256(token);
  }

  /** Whether an `Authorization` header carries this token (`Bearer <token>`). */
  accepts(header: string | undefined): boolean {
    const match = /^Bearer ([^\s]{1,1024})$/.exec(header ?? '');
    // Digests of equal length, so the comparison takes the same time whatever was sent.
    return match !== null && timingSafeEqual(sha256(match[1]!), this.digest);
  }
}

/** Where the token may come from. */
export interface StatusTokenSources {
  /** `status_token_file` of the config: its first line is the token. */
  file?: string;
  /** The process environment (`SUPERVISOR_TRIGGERER_STATUS_TOKEN`), which wins over the file. */
  env?: NodeJS.ProcessEnv;
}

/** Loads the token from the environment or the file; undefined when neither gives one. */
export async function loadStatusToken({ file, env }: StatusTokenSources): Promise<StatusToken | undefined> {
  const fromEnv = env?.[STATUS_TOKEN_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return new StatusToken(fromEnv, `$${STATUS_TOKEN_ENV}`);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidStatusToken(
      `cannot read the status token file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  return new StatusToken((text.split('\n')[0] ?? '').trim(), `status token file ${file}`);
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
