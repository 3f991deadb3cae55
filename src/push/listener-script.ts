/**
 * The push listener: a supervisord event listener that `supervisor configure` writes into a push
 * job's working dir and supervisord runs there. Python, because a host running supervisord has
 * Python and nothing else of ours: it needs only Python's standard library (3.6 or later), so a
 * remote host needs no package of this project.
 *
 * What it does: speaks the event listener protocol on stdin/stdout (READY, then `RESULT 2\nOK` for
 * every event, so supervisord never marks it UNKNOWN) and writes one JSON line per PROCESS_STATE
 * event to its stderr, which supervisord writes to the listener's log; the triggerer follows that
 * log through `GET /logtail/<listener>/stderr` (see src/push/feed.ts). While it waits for an event
 * it writes a `.` line every `wake` ms: supervisord's loop otherwise sleeps up to a second after a
 * program dies before it dispatches the event, and up to a second again before it serves the new
 * log bytes to the stream (docs/push.md has the measurements). It never waits on the triggerer:
 * nobody following the log costs supervisord nothing more.
 */

/** The `[eventlistener:x]` name the convenience layer gives the push listener. */
export const PUSH_LISTENER_NAME = 'st-push';

/** The script's file name in the job's working dir. */
export const PUSH_LISTENER_FILE = 'st-push.py';

/** The version of the lines the listener writes (`v` of each JSON line). */
export const LISTENER_LINE_VERSION = 1;

/** The listener's source. Argument: the wake interval in ms (0: never wake). */
export const PUSH_LISTENER_SCRIPT = String.raw`#!/usr/bin/env python3
# supervisor-triggerer push listener, written by 'supervisor configure'; needs only Python's stdlib.
# Answers supervisord's event listener protocol on stdin/stdout and writes one JSON line per
# PROCESS_STATE event to stderr (followed by the triggerer through /logtail/<name>/stderr). While
# it waits it writes a '.' line every WAKE ms: each line wakes supervisord's loop, which otherwise
# sleeps up to 1 s before dispatching an event and again before serving new log bytes.
import json, os, select, sys, time


def main():
    ms = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    wake = None if ms <= 0 else max(ms, 10) / 1000.0
    state = {'pending': b''}

    def say(line):
        os.write(2, line.encode('utf-8') + b'\n')

    def read(take):
        while True:
            found = take(state['pending'])
            if found is not None:
                return found
            ready, _, _ = select.select([0], [], [], wake)
            if not ready:
                say('.')
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                sys.exit(0)
            state['pending'] += chunk

    def line(buf):
        at = buf.find(b'\n')
        if at < 0:
            return None
        state['pending'] = buf[at + 1:]
        return buf[:at]

    def fields(text):
        return dict(t.split(':', 1) for t in text.split() if ':' in t)

    say(json.dumps({'v': 1, 'event': 'LISTENER_STARTED', 'pid': os.getpid(),
                    'at': int(time.time() * 1000)}, separators=(',', ':')))
    while True:
        os.write(1, b'READY\n')
        header = fields(read(line).decode('utf-8', 'replace'))
        size = int(header.get('len', '0'))

        def body(buf):
            if len(buf) < size:
                return None
            state['pending'] = buf[size:]
            return buf[:size]

        payload = fields(read(body).decode('utf-8', 'replace'))
        name = header.get('eventname', '')
        if name.startswith('PROCESS_STATE_'):
            event = {'v': 1, 'event': name, 'serial': int(header.get('serial', '0')),
                     'poolserial': int(header.get('poolserial', '0')),
                     'process': payload.get('processname', ''), 'group': payload.get('groupname', ''),
                     'from': payload.get('from_state', ''), 'at': int(time.time() * 1000)}
            if payload.get('pid', '').isdigit():
                event['pid'] = int(payload['pid'])
            say(json.dumps(event, separators=(',', ':')))
        os.write(1, b'RESULT 2\nOK')


main()
`;
