/**
 * What `scripts/setup` leaves on the machine: the system packages it installs are there, and none of
 * their system services runs (the tests and the main command start their own, privately).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

/** Command lines of the live processes, from /proc. */
function commandLines(): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()];
      } catch {
        return [];
      }
    });
}

test('no system service of supervisor, redis-server or ssh runs (the project starts its own)', () => {
  const system = commandLines().filter(
    (line) =>
      /supervisord .*-c \/etc\/supervisor\/supervisord\.conf/.test(line) ||
      /^\/usr\/bin\/redis-server 127\.0\.0\.1:6379\b/.test(line) ||
      /^sshd: \/usr\/sbin\/sshd( -D)? \[listener\]|^\/usr\/sbin\/sshd( -D)?$/.test(line),
  );
  assert.deepEqual(system, [], 'system services started by the packages are running');
});

test('none of them is enabled to start at boot', () => {
  const enabled: string[] = [];
  for (const level of ['2', '3', '4', '5']) {
    let links: string[];
    try {
      links = readdirSync(`/etc/rc${level}.d`);
    } catch {
      continue; // no SysV init links on this machine
    }
    for (const link of links) {
      if (/^S\d\d(supervisor|redis-server|ssh)$/.test(link)) enabled.push(`/etc/rc${level}.d/${link}`);
    }
  }
  for (const unit of ['supervisor', 'redis-server', 'ssh']) {
    for (const dir of ['/etc/systemd/system/multi-user.target.wants']) {
      try {
        if (readdirSync(dir).includes(`${unit}.service`)) enabled.push(`${dir}/${unit}.service`);
      } catch {
        // no systemd units enabled on this machine
      }
    }
  }
  assert.deepEqual(enabled, []);
});
