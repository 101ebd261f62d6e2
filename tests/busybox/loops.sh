# Loops, conditions, functions and arithmetic in the shell itself (no kernel but fork,
# exec and pipes), and loops that start many processes.
echo "== for, while, until"
for i in 1 2 3; do echo "for $i"; done
i=0
while [ $i -lt 3 ]; do i=$((i + 1)); echo "while $i"; done
until [ $i -eq 0 ]; do echo "until $i"; i=$((i - 1)); done
for w in $(echo one two three); do printf '%s,' "$w"; done; echo
echo "== break, continue, nested"
for i in 1 2 3 4 5 6; do
  [ $i = 2 ] && continue
  [ $i = 5 ] && break
  for j in a b c; do
    [ $j = c ] && continue 2
    echo "$i$j"
  done
done
echo "== case and functions"
kind() {
  case "$1" in
    [0-9]*) echo "$1: number" ;;
    *.sh) echo "$1: script" ;;
    ''|' ') echo "empty" ;;
    *) echo "$1: word"; return 3 ;;
  esac
}
kind 42; kind run.sh; kind ''; kind hello; echo "returned $?"
fact() { if [ "$1" -le 1 ]; then echo 1; else echo $(( $1 * $(fact $(( $1 - 1 ))) )); fi; }
echo "10! = $(fact 10)"
echo "== arithmetic"
echo $(( 7 / 2 )) $(( 7 % 3 )) $(( 1 << 10 )) $(( -5 + 3 )) $(( 0x1f )) $(( 2 ** 10 ))
n=0; for i in $(seq 1 50); do n=$((n + i)); done; echo "sum 1..50 = $n"
echo "== while read from a file and from a pipe"
printf 'a 1\nb 2\nc 3\n' >/tmp/pairs
while read -r k v; do echo "$k=$v"; done </tmp/pairs
seq 1 4 | while read -r n; do echo "sq $((n * n))"; done
echo "== 200 processes, one after the other"
i=0; while [ $i -lt 200 ]; do /bin/true || echo "true failed"; i=$((i + 1)); done
echo "ran $i"
echo "== 50 pipelines"
for i in $(seq 1 50); do echo $i | cat | cat; done | wc -l
echo "== positional parameters, shift, set --"
set -- a "b c" d
echo "$# args: $1 / $2 / $3"
for a in "$@"; do echo "[$a]"; done
shift; echo "after shift: $# $1"
echo "== getopts and eval"
set -- -a -b val rest
while getopts ab: opt; do echo "opt $opt ${OPTARG:-}"; done
shift $((OPTIND - 1)); echo "left: $*"
name=dyn; eval "$name=42"; echo "dyn=$dyn"
