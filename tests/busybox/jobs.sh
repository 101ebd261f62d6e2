# Background jobs and wait: statuses of children that exit, are killed, or were already
# reaped; jobs running at the same time; $! and wait with several pids.
echo "== wait for one job"
sleep 0.2 &
p=$!
wait $p; echo "sleep: $?"
(exit 3) &
wait $!; echo "exit 3: $?"
# (ash prints "Killed" for such a job only when the wait builtin is what reaps it;
# when its SIGCHLD came first, the next command reaped it silently: a race, so the
# waits for killed jobs send ash's message to /dev/null and show the status only.)
sh -c 'kill -9 $$' &
wait $! 2>/dev/null; echo "killed by 9: $?"
sleep 10 &
p=$!
kill $p
wait $p 2>/dev/null; echo "killed by TERM: $?"
echo "== jobs at the same time, each writing its own file"
for i in 1 2 3 4 5 6 7 8; do
  (seq 1 $((i * 1000)) | wc -l >/tmp/job.$i) &
done
wait
cat /tmp/job.1 /tmp/job.2 /tmp/job.3 /tmp/job.4 /tmp/job.5 /tmp/job.6 /tmp/job.7 /tmp/job.8
echo "== wait for several pids; order of completion does not matter"
sleep 0.3 & a=$!
sleep 0.1 & b=$!
(exit 5) & c=$!
wait $a $b
echo "a and b: $?"
wait $c; echo "c: $?"
echo "== background job keeps running while the shell works"
(sleep 0.2; echo late >/tmp/late) &
echo early
wait
cat /tmp/late
echo "== a job's output through a pipe"
(echo one; sleep 0.1; echo two) | (read -r x; read -r y; echo "$x+$y")
echo "== wait with no jobs returns 0"
wait; echo "wait: $?"
echo "== 20 background jobs"
for i in $(seq 1 20); do (echo $i >/tmp/bg.$i) & done
wait
cat /tmp/bg.* | sort -n | tr '\n' ' '; echo
