/** The program set the benches (and the decoder test) run: `count` sleepers, all started. */
export function sleepers(count = 50): Record<string, string> {
  const programs: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const name = `worker-${String(i).padStart(2, '0')}`;
    programs[name] = `command=sleep 100${i}\nautostart=true\nstartsecs=0\nstopwaitsecs=2`;
  }
  return programs;
}
