# The shell's own machinery: exit statuses, set -e, subshells and cd, variables exported
# or not, read, exec replacing the shell, test, quoting.
echo "== exit statuses"
true; echo "true $?"
false; echo "false $?"
/bin/nonexistent 2>/dev/null; echo "not found $?"
echo x >/tmp/noexec; chmod 644 /tmp/noexec
/tmp/noexec 2>/dev/null; echo "not executable $?"
sh -c 'exit 255'; echo "255: $?"
sh -c 'exit 256'; echo "256: $?"
echo "== set -e in a subshell"
(set -e; echo before; false; echo "not printed")
echo "subshell: $?"
(set -e; false || echo "|| does not stop"; if false; then :; fi; echo "if does not stop")
echo "== cd and pwd"
cd /tmp && pwd
mkdir -p /tmp/x/y && cd /tmp/x/y && pwd
cd .. && pwd
cd /nonexistent 2>/dev/null; echo "cd missing: $?"
cd / && pwd
echo "== variables and export"
a=1; sh -c 'echo "a in child: [${a:-unset}]"'
export a; sh -c 'echo "a in child: [${a:-unset}]"'
unset a; echo "unset: [${a:-gone}]"
echo "${b:-default} ${b:=assigned} $b"
s=abcdef; echo "${#s} ${s#ab} ${s%ef} ${s#*c}"
echo "== read"
echo "x y z" | { read -r p q; echo "p=$p q=$q"; }
read -r line </tmp/noexec; echo "line=$line"
echo "== test"
[ -f /tmp/noexec ] && echo "is a file"
[ -d /tmp ] && echo "is a dir"
[ -x /bin/busybox ] && echo "busybox is executable"
[ 3 -gt 2 ] && [ abc = abc ] && [ -n "x" ] && [ -z "" ] && echo "comparisons"
[ /tmp/noexec -nt /nonexistent ] && echo "-nt a missing file"
echo "== quoting"
v="two  spaces"
echo $v
echo "$v"
echo '$v'
echo "tab:	end" | od -c | head -n 1 | tr -s ' '
printf '%s|%d|%5s|%-3s|%x\n' str 42 r l 255
echo "== exec"
sh -c 'exec echo "exec replaced the shell"; echo "not printed"'
(exec sh -c 'echo "pid kept: $(( $$ > 0 ))"')
echo "== a script in a file with #!"
printf '#!/bin/sh\necho "script args: $# $1"\nexit 9\n' >/tmp/s.sh
chmod +x /tmp/s.sh
/tmp/s.sh one two; echo "script status $?"
sh /tmp/s.sh; echo "via sh $?"
