#!/usr/bin/env python3
"""Types into the machine's console the way a person would: runs QEMU (the command after
--) with its serial port on this script's pipes, and follows a script read from SCRIPT,
one step a line:

    expect REGEX    wait (up to --timeout seconds) until the output, from where the last
                    match ended, matches REGEX (Python syntax; '\\r' is removed first)
    send TEXT       type TEXT: Python string escapes, e.g. send sleep 100\\n or send \\x03
    sleep SECONDS   wait (for a program to reach the point where a key matters)
    stop            kill QEMU and exit 0 (a machine that halts never exits by itself);
                    fails if QEMU has exited already
    # ...           a comment

Then waits for QEMU to exit and exits with its status; 124 if a step or QEMU's exit
timed out (QEMU is killed), after printing the step and the output's last lines. The
whole output goes to LOG.
    usage: console.py [--timeout S] SCRIPT LOG -- QEMU ARGS...
"""
import os
import re
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    timeout = 60.0
    if args[:1] == ["--timeout"]:
        timeout, args = float(args[1]), args[2:]
    if len(args) < 4 or args[2] != "--":
        sys.exit(__doc__)
    script, log, cmd = args[0], args[1], args[3:]
    steps = [line.rstrip("\n") for line in open(script)]
    qemu = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.set_blocking(qemu.stdout.fileno(), False)
    out = bytearray()
    pos = 0  # where the next expect starts looking
    logf = open(log, "wb")

    def pump(wait):
        """Reads what QEMU wrote, for at most `wait` seconds; False once QEMU is gone."""
        end = time.monotonic() + wait
        while True:
            chunk = qemu.stdout.read()
            if chunk:
                chunk = chunk.replace(b"\r", b"")
                out.extend(chunk)
                logf.write(chunk)
                logf.flush()
            elif chunk == b"" and qemu.poll() is not None:
                return False
            if time.monotonic() >= end:
                return True
            time.sleep(0.02)

    def give_up(why):
        print("console.py: %s" % why)
        print("console.py: last output:")
        for line in out.decode(errors="replace").splitlines()[-8:]:
            print("    " + line)
        qemu.kill()
        qemu.wait()
        sys.exit(124)

    for n, step in enumerate(steps, 1):
        if not step.strip() or step.lstrip().startswith("#"):
            continue
        verb, _, arg = step.partition(" ")
        if verb == "expect":
            pattern = re.compile(arg.encode())
            deadline = time.monotonic() + timeout
            while True:
                m = pattern.search(out, pos)
                if m:
                    pos = m.end()
                    break
                alive = pump(0.05)
                if time.monotonic() > deadline or (not alive and not pattern.search(out, pos)):
                    give_up("step %d (%s): %s" % (n, step, "timed out" if alive else "QEMU exited"))
        elif verb == "send":
            # Typed as one burst, as a fast typist (or a paste) would.
            qemu.stdin.write(arg.encode().decode("unicode_escape").encode("latin-1"))
            qemu.stdin.flush()
        elif verb == "sleep":
            pump(float(arg))
        elif verb == "stop":
            if not pump(0.1):
                give_up("step %d: QEMU exited before stop" % n)
            qemu.kill()
            qemu.wait()
            sys.exit(0)
        else:
            give_up("step %d: unknown step %r" % (n, step))

    deadline = time.monotonic() + timeout
    while pump(0.1):
        if time.monotonic() > deadline:
            give_up("QEMU did not exit after the last step")
    sys.exit(qemu.wait())


if __name__ == "__main__":
    main()
