# tests/debian/normalise.sed: what may differ between two correct runs of test.sh.
# (It prints no pids or times itself; the kernel's own log lines are dropped.)
/^\[ *[0-9]*\.[0-9]*\] /d
/^kernel: /d
