# ls, cat, wc, sort, find and dd on a tree made in /tmp; ls -l's dates are normalised.
mkdir -p /tmp/t/a/b /tmp/t/c || exit 1
cd /tmp/t || exit 1
echo "== make files"
printf 'zeta\nalpha\nmid\n' >a/words
seq 1 1000 >a/b/nums
echo -n "" >c/empty
ln -s a/words link
ln a/words hard
chmod 600 c/empty
chmod 755 a/b/nums
echo "== ls"
ls
ls -a a
ls -1 a/b
ls -l a/words a/b/nums c/empty link
ls -ld a
ls -R . | grep -v '^$'
ls nothing 2>&1; echo "ls missing: $?"
echo "== cat and wc"
cat a/words
cat -n a/words
wc a/words
wc -l a/b/nums
wc -c a/b/nums c/empty
cat a/words link hard | wc -l
echo "== sort"
sort a/words
sort -r a/words
sort -n -r a/b/nums | head -n 3
printf '3 c\n1 a\n2 b\n1 z\n' | sort -k2,2r
printf 'b\na\nb\na\n' | sort -u
echo "== find"
find . | sort
find . -type f | sort
find . -name 'n*'
find . -type l
find . -type d -name b
find . -size +1k -type f
find . -newer a/words -type f | sort >/dev/null; echo "find -newer: $?"
find . -name words -exec wc -l {} \;
echo "== dd"
dd if=/dev/zero of=zeros bs=512 count=7 2>/dev/null
wc -c zeros
dd if=a/b/nums of=part bs=1 skip=10 count=20 2>/dev/null
cat part; echo
dd if=a/b/nums bs=100 count=3 2>&1 >/dev/null | head -n 2
dd if=a/b/nums of=conv conv=ucase 2>/dev/null; cmp a/b/nums conv && echo "digits unchanged"
printf 'abc' | dd conv=ucase 2>/dev/null; echo
dd if=/dev/zero of=sparse bs=1 count=1 seek=100000 2>/dev/null
wc -c sparse
echo "== cp, mv, rm"
cp a/words copy
mv copy moved
ls moved copy 2>&1 | sort
rm -r a
ls
cat link 2>&1; echo "dangling: $?"
cat hard
