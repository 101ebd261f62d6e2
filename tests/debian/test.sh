#!/bin/bash
# tests/debian/test.sh: Debian 12's own dynamically linked programs (bash, coreutils,
# grep, sed, gawk, findutils, procps, python3), run by tests/debian/run.c. Its output,
# normalised by tests/debian/normalise.sed, must equal expected.txt, made on Linux 6.1
# with the same packages (tests/debian/make-expected.sh).
cd /tmp || exit 1
# What udev makes on a Debian system, and bash's process substitution uses.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
trap 'echo "trap: EXIT"' EXIT
echo "== bash $BASH_VERSION"
greet() { local who=$1; echo "hello, $who"; return 3; }
greet world; echo "function status $?"
arr=(alpha beta gamma); arr+=(delta)
echo "array: ${#arr[@]} ${arr[2]} ${arr[-1]} ${arr[*]:1:2}"
declare -A color=([sky]=blue [grass]=green)
echo "assoc: ${color[sky]} ${color[grass]} ${#color[@]}"
echo "arith: $(( (7 * 6) % 5 + 2 ** 10 )) $(( 0x10 + 010 )) $(( -7 / 2 ))"
sum=0; for i in $(seq 1 100); do sum=$((sum + i)); done; echo "for: $sum"
n=0; while (( n < 5 )); do ((n++)); done; echo "while: $n"
cat <<HERE
here-document: $(echo substituted) ${arr[0]} $((6 * 7))
HERE
cat <<'HERE'
quoted here-document: $(not substituted)
HERE
x=$(echo outer $(echo inner)); echo "command substitution: $x"
case "notes.txt" in *.txt) echo "case: txt" ;; *) echo "case: other" ;; esac
[[ abc123 =~ ^[a-z]+([0-9]+)$ ]] && echo "regex: ${BASH_REMATCH[1]}"
printf 'printf: %05d|%-4s|%x|%s\n' 42 ab 255 "$(printf '%q' 'a b')"
( exit 7 ); echo "subshell: $?"
s="Hello, World"; echo "expansion: ${s,,} ${s^^} ${s/World/there} ${#s} ${s:7}"
read -r first rest <<<"one two three"; echo "read: $first / $rest"
mapfile -t lines < <(printf 'l1\nl2\nl3\n'); echo "mapfile: ${#lines[@]} ${lines[1]}"
{ echo to-stderr >&2; } 2>&1 | sed 's/^/redirect: /'
echo "glob:" /etc/pass*
sleep 0.2 & wait $! && echo "background: waited"
echo "== coreutils"
seq 1 20 | sort -rn | head -3 | tr '\n' ' '; echo
printf 'b\na\nc\na\nb\na\n' | sort | uniq -c
printf 'one two\nthree\n' | wc
echo hello world | tr a-z A-Z
echo "a:b:c:d" | cut -d: -f2,4
printf '3\n1\n3\n2\n' | sort -u | paste -sd,
echo -n abc | sha256sum
echo -n abc | md5sum
date +%Y | grep -Eq '^[0-9]{4}$' && echo "date +%Y: four digits"
date -d @86400 -u '+%Y-%m-%d %H:%M'
echo data > f.txt; chmod 640 f.txt
stat -c 'stat: %s bytes, mode %a, %F, %n' f.txt
ls -l f.txt | awk '{print "ls -l:", $1, $2, $3, $4, $5, $NF}'
ln -sf f.txt link.txt; readlink link.txt; cat link.txt
cp f.txt g.txt; mv g.txt h.txt; ls *.txt | paste -sd' '
rm f.txt h.txt link.txt
basename /a/b/c.txt .txt; dirname /a/b/c.txt
expr 6 \* 7; factor 360
seq 5 | tac | paste -sd' '
printf 'x\ny\n' | nl
echo hi | od -c | head -1
head -c 100 /dev/zero | wc -c
dd if=/dev/zero of=z.bin bs=1k count=8 2>/dev/null; stat -c '%s' z.bin; rm z.bin
yes | head -3 | paste -sd' '
printf '%s\n' 1 2 3 | xargs echo xargs:
env -i A=1 env; true && echo true; false || echo false
id -u; whoami 2>/dev/null || echo "whoami: uid $(id -u)"
test -d /proc/self && echo "proc: mounted"
echo "== grep sed gawk"
printf 'apple\nbanana\ncherry\navocado\n' > fruit
grep -n an fruit; grep -c '^a' fruit; grep -v a fruit; grep -E '^(b|c)' fruit | head -1
grep -o 'an' fruit | wc -l; grep -q cherry fruit && echo "grep -q: found"
sed -e 's/a/A/g' -e '/cherry/d' fruit | paste -sd' '
sed -n '2,3p' fruit; sed '1i first' fruit | head -2 | tail -1
printf '1 2\n3 4\n5 6\n' | awk '{ s += $1 * $2 } END { print "awk:", s, NR }'
awk 'BEGIN { printf "pi %.5f, sqrt2 %.4f, %d\n", atan2(0, -1), sqrt(2), 2^31 }'
seq 1 5 | gawk '{ a[NR] = $1 } END { for (i = NR; i > 0; i--) printf "%s ", a[i]; print "" }'
gawk -F: '$1 == "root" { print "gawk:", $1, $3, $7 }' /etc/passwd
echo "hello gawk world" | gawk '{ print toupper($2), length($0), gensub(/o/, "0", "g") }'
rm fruit
echo "== find"
mkdir -p tree/a/b tree/c; touch tree/a/one.txt tree/a/b/two.txt tree/c/three.log
find tree | sort
find tree -name '*.txt' | sort
find tree -type d | sort | paste -sd' '
find tree -type f -size -1k -name 't*' | sort
find tree -name '*.log' -exec echo found {} \;
find tree -type f | xargs -n1 basename | sort | paste -sd' '
rm -r tree
echo "== ps"
ps -o comm=,args= -p $$
sleep 10 & sl=$!
ps -o comm=,stat= -p $sl
ps -e -o comm= | grep -E '^(bash|sleep|ps)$' | sort | uniq -c
ps -e -o pid= | grep -qw $$ && echo "ps -e: sees this shell"
kill $sl; wait $sl; echo "killed sleep: $? ($(kill -l $(($? - 128))))"
echo "== python3"
mkdir -p py && touch py/b py/a py/c
python3 -c '
import json, os, subprocess, sys, hashlib, re
print(json.dumps({"a": [1, 2.5, None, True], "b": "x"}, sort_keys=True))
print(json.loads("[1, {\"k\": [2, 3]}]")[1]["k"][1])
print("listdir:", sorted(os.listdir("py")))
r = subprocess.run(["echo", "from", "a", "child"], capture_output=True, text=True)
print(r.returncode, r.stdout.strip())
print(subprocess.check_output("echo $((6*7)) | tr 4 X", shell=True).decode().strip())
print(sum(i * i for i in range(1000)), 2 ** 100, 7 / 2, round(2.675, 2))
print(hashlib.sha256(b"abc").hexdigest()[:16], re.sub(r"(\d+)", r"<\1>", "a1b22"))
print(sys.version_info[:2], os.getcwd())
'
rm -r py
echo "== done"
