/** Building remote command lines: every argument single-quoted, so no value is read by the shell. */

/** `value` as one POSIX shell word. */
export function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command line of quoted words. */
export function commandLineOf(command: string, args: readonly string[]): string {
  return [command, ...args].map(quote).join(' ');
}
