# Applied to both sides (ci/busybox-suite.sh script_output): what legitimately differs
# between two runs or two kernels becomes a fixed word. Keep it narrow: a pattern here
# hides differences, so each names the one thing it hides.
# busybox time: "real	0m 0.20s" (and user, sys)
s/^\(real\|user\|sys\)	[0-9]*m [0-9.]*s$/\1	TIME/
# dd's statistics line: "300 bytes (300B) copied, 0.000043 seconds, 6.6MB/s"
s/ copied, [0-9.]* seconds, [0-9.]*[KMGT]*B\/s$/ copied, TIME/
# ls -l: the modification time ("Dec  3 09:35", or "Jan  1  1970" for an old file)
s/ [A-Z][a-z][a-z] [ 0-9][0-9] [ 0-9][0-9][:0-9][0-9][0-9] / DATE /
# ls -l of a directory: its size is the file system's own measure (Linux's tmpfs counts
# 20 bytes an entry)
s/^\(d[-rwxsStT]\{9\} *[0-9]* [^ ]* *[^ ]*\) *[0-9]* DATE /\1 SIZE DATE /
# the wall clock: "now: 1764754525", "now: 2026-12-03T09:35:25Z"
s/^now: [0-9]*$/now: EPOCH/
s/^now: [0-9]*-[0-9]*-[0-9]*T[0-9:]*Z$/now: DATE/
