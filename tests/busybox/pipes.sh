# Pipelines and command substitution: data through several processes, exit statuses,
# substitution nested and in arguments, a pipe larger than the pipe buffer.
echo "== pipelines"
seq 1 100 | grep 7 | wc -l
printf 'pear\napple\nfig\napple\n' | sort | uniq -c
seq 1 5 | tr '\n' ' ' | sed 's/ $//'; echo
yes teachos | head -n 3
echo "== exit status of a pipeline is the last command's"
false | true; echo "false|true: $?"
true | false; echo "true|false: $?"
! true | false; echo "! ... : $?"
echo "== 1 MiB through a pipe, and 64 KiB records"
dd if=/dev/zero bs=1024 count=1024 2>/dev/null | wc -c
dd if=/dev/zero bs=65536 count=8 2>/dev/null | cat | cat | wc -c
seq 1 20000 | sort -rn | head -n 2
seq 1 20000 | tail -n 1
echo "== command substitution"
x=$(echo hello)
echo "x=$x"
echo "nested: $(echo a $(echo b $(echo c)))"
echo "backquotes: `echo old style`"
lines=$(seq 1 10 | wc -l)
echo "lines=$lines"
echo "sum=$(( $(seq 1 100 | tr '\n' '+' | sed 's/+$//') ))"
echo "trailing newlines stripped: [$(printf 'a\n\n\n')]"
echo "status of a substitution: $(exit 7; echo no) $?"
v=$(false); echo "assignment keeps the status: $?"
echo "== a subshell's output and its variables"
y=outer
(y=inner; echo "in: $y")
echo "out: $y"
echo "$(cd /tmp && pwd)"
echo "== xargs and tee"
seq 1 6 | xargs echo
seq 1 6 | xargs -n 2 echo
echo teed | tee /tmp/tee.out | tr a-z A-Z
cat /tmp/tee.out
