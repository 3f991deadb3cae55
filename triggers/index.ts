/**
 * The registry of trigger definitions the triggerer may run: the built-ins plus plugin modules named
 * in the triggerer's own config at start-up. A queue record only names a classpath; it can never make
 * the triggerer load code.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TriggerDefinition } from '../src/triggerer/definition.js';
import { DateTimeTrigger } from './date-time.js';
import { ProgramStateTrigger } from './program-state.js';
import { ProgramWatchTrigger } from './program-watch.js';
import { SupervisorReadyTrigger } from './supervisor-ready.js';
import { TimeDeltaTrigger } from './time-delta.js';

export {
  DateTimeTrigger,
  ProgramStateTrigger,
  ProgramWatchTrigger,
  SupervisorReadyTrigger,
  TimeDeltaTrigger,
};

/** Every built-in trigger definition. */
export const builtinTriggers: TriggerDefinition[] = [
  ProgramStateTrigger,
  ProgramWatchTrigger,
  SupervisorReadyTrigger,
  TimeDeltaTrigger,
  DateTimeTrigger,
];

/** Two definitions claim the same classpath. */
export class DuplicateTriggerError extends Error {
  override name = 'DuplicateTriggerError';
  constructor(
    readonly classpath: string,
    /** The plugin module that tried to register it again, if any. */
    readonly module?: string,
  ) {
    super(
      `trigger classpath "${classpath}" is already registered${module ? ` (again by plugin ${module})` : ''}`,
    );
  }
}

/** A plugin module could not be loaded or does not export trigger definitions. */
export class TriggerPluginError extends Error {
  override name = 'TriggerPluginError';
  constructor(
    readonly module: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`trigger plugin ${module}: ${message}`, options);
  }
}

/** Classpath → definition. */
export class TriggerRegistry {
  private readonly definitions = new Map<string, TriggerDefinition>();

  /** A registry holding `definitions` (the built-ins unless given). */
  constructor(definitions: Iterable<TriggerDefinition> = builtinTriggers) {
    for (const definition of definitions) this.register(definition);
  }

  /** Adds a definition; throws {@link DuplicateTriggerError} if its classpath is taken. */
  register(definition: TriggerDefinition, module?: string): this {
    if (this.definitions.has(definition.classpath))
      throw new DuplicateTriggerError(definition.classpath, module);
    this.definitions.set(definition.classpath, definition);
    return this;
  }

  /** The definition of `classpath`, or undefined if none is registered. */
  get(classpath: string): TriggerDefinition | undefined {
    return this.definitions.get(classpath);
  }

  /** Every registered classpath, sorted. */
  classpaths(): string[] {
    return [...this.definitions.keys()].sort();
  }

  /**
   * The built-ins plus the definitions of each plugin module: a path (relative ones resolve against
   * `baseDir`) or a package name, exporting `triggers: TriggerDefinition[]` or a default (one
   * definition or a list). Call it at start-up with the modules of the triggerer's own config only.
   */
  static async withPlugins(
    modulePaths: readonly string[],
    { baseDir = process.cwd() } = {},
  ): Promise<TriggerRegistry> {
    const registry = new TriggerRegistry();
    for (const modulePath of modulePaths) {
      for (const definition of await loadPlugin(modulePath, baseDir))
        registry.register(definition, modulePath);
    }
    return registry;
  }
}

async function loadPlugin(modulePath: string, baseDir: string): Promise<TriggerDefinition[]> {
  const isPath = modulePath.startsWith('.') || isAbsolute(modulePath);
  const specifier = isPath ? pathToFileURL(resolve(baseDir, modulePath)).href : modulePath;
  let exports: Record<string, unknown>;
  try {
    exports = (await import(specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new TriggerPluginError(modulePath, `cannot be loaded: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const exported = exports.triggers ?? exports.default;
  if (exported === undefined) {
    throw new TriggerPluginError(modulePath, 'exports neither `triggers` nor a default');
  }
  const list = Array.isArray(exported) ? (exported as unknown[]) : [exported];
  return list.map((candidate, i) => {
    const problem = definitionProblem(candidate);
    if (problem) throw new TriggerPluginError(modulePath, `trigger #${i} ${problem}`);
    return candidate as TriggerDefinition;
  });
}

/** What makes `candidate` not a trigger definition, or undefined if it is one. */
function definitionProblem(candidate: unknown): string | undefined {
  if (typeof candidate !== 'object' || candidate === null) return 'is not an object';
  const c = candidate as Record<string, unknown>;
  if (typeof c.classpath !== 'string' || c.classpath === '') return 'has no string `classpath`';
  const kwargs = c.kwargs as { safeParse?: unknown } | undefined;
  if (typeof kwargs?.safeParse !== 'function') return `(${c.classpath}) has no zod schema in \`kwargs\``;
  if (typeof c.run !== 'function') return `(${c.classpath}) has no \`run\` function`;
  if (c.onCancel !== undefined && typeof c.onCancel !== 'function')
    return `(${c.classpath}) \`onCancel\` is not a function`;
  return undefined;
}
