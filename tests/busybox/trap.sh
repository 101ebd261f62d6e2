# trap: handlers for signals sent by the shell to itself and by children, EXIT traps in
# the shell and in subshells, ignored signals inherited by children, trap reset.
echo "== a handler runs, the shell carries on"
trap 'echo "got USR1"' USR1
kill -USR1 $$
echo "after USR1"
trap 'echo "got TERM"' TERM
kill -TERM $$
echo "after TERM"
echo "== a child signals its parent shell"
trap 'echo "got USR2 from a child"' USR2
sh -c "kill -USR2 $$"
echo "after the child"
echo "== a signal arriving while the shell waits for a job"
trap 'echo "got HUP while waiting"' HUP
sleep 1 &
sleeper=$!
(sleep 0.2; kill -HUP $$) &
wait $sleeper
echo "wait ended with $? (128+1)"
wait
echo "== an ignored signal stays ignored in children"
trap '' INT
sh -c 'kill -INT $$; echo "child survived INT"'
trap - INT
sh -c 'kill -INT $$; echo "not printed"'
echo "child killed by INT: $?"
echo "== EXIT traps"
(trap 'echo "subshell exit trap"' EXIT; echo "in subshell")
sh -c 'trap "echo exit trap, status \$?" EXIT; exit 4'
echo "sh -c exited $?"
echo "== trap listing and reset"
trap
trap - USR1 USR2 TERM HUP
trap
sh -c 'kill -USR1 $$; echo "not printed"'
echo "default USR1 kills: $?"
trap 'echo "main EXIT trap"' EXIT
echo "end of script"
