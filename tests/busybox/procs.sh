# ps, kill, uname, env, date and time: processes seen in /proc, signals by name and
# number, stopped and continued jobs, the environment, clocks (normalised).
echo "== ps"
sleep 30 &
s=$!
ps | grep -c '[s]leep 30'
ps -o pid,comm | awk -v p=$s '$1 == p { print "comm:", $2 }'
ps -o pid,ppid | awk -v p=$s -v me=$$ '$1 == p { print ($2 == me ? "parent is the shell" : "parent " $2) }'
[ -d /proc/$s ] && echo "/proc/\$! exists"
tr '\0' ' ' </proc/$s/cmdline; echo
echo "== kill"
kill -0 $s && echo "kill -0: alive"
kill -STOP $s
sleep 0.1
awk '{ print "state after STOP:", $3 }' /proc/$s/stat
kill -CONT $s
sleep 0.1
awk '{ print "state after CONT:", $3 }' /proc/$s/stat
# (ash prints "Killed" for such a job only when the wait builtin is what reaps it;
# when its SIGCHLD came first, the next command reaped it silently: a race, so the
# waits for killed jobs send ash's message to /dev/null and show the status only.)
kill -s KILL $s
wait $s 2>/dev/null; echo "wait after KILL: $?"
kill -0 $s 2>/dev/null; echo "kill -0 a reaped pid: $?"
kill -l 15; kill -l TERM; kill -l 9
sleep 30 & kill -USR1 $!; wait $! 2>/dev/null; echo "USR1: $?"
sleep 30 & kill -15 $!; wait $! 2>/dev/null; echo "15: $?"
kill 99999 2>/dev/null; echo "no such pid: $?"
echo "== uname"
uname
uname -s -m
uname -o
[ -n "$(uname -r)" ] && echo "a release string"
[ -n "$(uname -n)" ] && echo "a node name"
echo "== env"
env | sort
env -i A=1 B=two env | sort
env -u HOME env | grep -c '^HOME='
FOO=bar env | grep '^FOO='
X=1 sh -c 'echo "X in child: $X"'
echo "== date"
date -u -d @0 '+%Y-%m-%d %H:%M:%S'
date -u -d @1000000000 '+%F %T %a'
TZ=UTC date -d @86400 +%s
echo "now: $(date +%s)"
echo "now: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
a=$(date +%s); sleep 1; b=$(date +%s)
[ $((b - a)) -ge 1 ] && [ $((b - a)) -le 3 ] && echo "a second passes"
echo "== time"
time sleep 0.2
time true
