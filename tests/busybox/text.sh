# grep and sed (and cut, tr, head, tail, awk) on text in /tmp.
cd /tmp || exit 1
cat >poem <<'END'
The quick brown fox
jumps over the lazy dog.
THE END of the fox
a line with 123 numbers 456
tab	separated	fields
END
echo "== grep"
grep fox poem
grep -i the poem
grep -c the poem
grep -v the poem
grep -n lazy poem
grep -o '[0-9][0-9]*' poem
grep -E 'quick|lazy' poem
grep -w fox poem | wc -l
grep -l fox poem /dev/null
grep nothing poem; echo "no match: $?"
grep x /nonexistent 2>/dev/null; echo "missing file: $?"
grep -q fox poem && echo "quiet match"
mkdir -p d/e && echo needle >d/e/f && echo hay >d/g
grep -r needle d
echo "== sed"
sed 's/fox/cat/' poem
sed -n '2p' poem
sed -n '/THE/,/numbers/p' poem
sed '1d;3d' poem
sed 's/o/0/g' poem | head -n 2
sed -e 's/^/> /' -e 's/$/ </' poem | tail -n 1
sed 's/\([a-z]*\) \([a-z]*\)/\2 \1/' poem | head -n 1
sed '$!d' poem
cp poem edit
sed -i 's/lazy/sleepy/' edit
grep sleepy edit
sed = poem | head -n 4
printf 'a\nb\nc\n' | sed -n '$='
echo "== cut, tr, head, tail, awk"
cut -f2 poem | tail -n 1
cut -d' ' -f1,3 poem
echo hello | tr a-y b-z
echo 'a  b   c' | tr -s ' '
echo 'delete vowels' | tr -d aeiou
head -n 2 poem
tail -n 2 poem
head -c 9 poem; echo
awk '{ n += NF } END { print n, NR }' poem
awk -F'\t' 'NF > 1 { print $3 }' poem
seq 1 10 | awk '$1 % 3 == 0'
