# The gdb check scripts' shared helpers (ci/gdb-*.py): ci/gdb-test.sh sources this file
# first, with CHECK_NAME set to the script's name (gdb-el0-check, ...), so every script
# reports the same way: "NAME: ok   what" per check; on a failure "NAME: FAILED what" and
# a gdb error that stops the session (gdb-test.sh then fails the test).
import gdb


def run(cmd):
    """A gdb command's output, as a string (nothing printed)."""
    return gdb.execute(cmd, to_string=True)


def check(cond, what):
    """One check: its line on success; on failure the whole reason, and gdb stops."""
    print("%s: %s %s" % (CHECK_NAME, "ok  " if cond else "FAILED", what))
    if not cond:
        raise gdb.GdbError("%s: FAILED %s" % (CHECK_NAME, what))


def reg(name):
    """A register of the selected frame, as an unsigned 64-bit number."""
    return int(gdb.parse_and_eval("$" + name)) & (1 << 64) - 1
