# Driven by ci/gdb-test.sh on the unoptimised PROFILE=dev kernel (e2e.sh): what "truly
# steppable" means to a student. Stopped at copy_process's first line, `next` goes down
# the function line by line — every stop in src/task/fork.rs, never back up, most lines
# different — and `info locals`/`info args` print values, none "<optimized out>".
import re

import gdb

run("break kernel::task::fork::copy_process")
run("continue")
frame = gdb.selected_frame()
check(frame.name() is not None and "copy_process" in frame.name(),
      "stopped in copy_process (%s)" % frame.name())


def where():
    sal = gdb.selected_frame().find_sal()
    return (sal.symtab.filename if sal.symtab else "?", sal.line)


stops = [where()]
for _ in range(8):
    run("next")
    stops.append(where())
files = {f for f, _ in stops}
lines = [l for _, l in stops]
check(all(f.endswith("src/task/fork.rs") for f in files),
      "every `next` stays in src/task/fork.rs (%s)" % sorted(files))
check(all(b >= a for a, b in zip(lines, lines[1:])),
      "`next` never goes back up: lines %s" % lines)
check(len(set(lines)) >= 6, "`next` visits %d different lines of 9 stops" % len(set(lines)))
shown = run("info args") + run("info locals")
check("optimized out" not in shown, "info args/locals print every value (no <optimized out>)")
check(re.search(r"clone_flags|args|flags", shown) is not None,
      "copy_process's arguments are there by name")
run("delete")
print("%s: PASS" % CHECK_NAME)
