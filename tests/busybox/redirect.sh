# Redirection into /tmp: >, >>, <, 2>, 2>&1, <>, here-documents, descriptors opened with
# exec, noclobber, and errors for files that are not there.
cd /tmp || exit 1
echo "== > and >>"
echo one >f
echo two >>f
cat f
echo three >f
cat f
echo "== < and here-documents"
wc -l <f
cat <<END
here $((1 + 1))
  indented
END
cat <<'END'
quoted $HOME stays
END
tr a-z A-Z <<-END
	tabs stripped
	END
echo "== stderr"
ls /nonexistent 2>err; echo "ls: $?"
cat err
ls /nonexistent >out 2>&1; cat out
{ echo to-out; echo to-err >&2; } 2>/dev/null
{ echo to-out; echo to-err >&2; } >/dev/null 2>&1; echo "all quiet"
{ echo to-out; echo to-err >&2; } 2>&1 >/dev/null | sed 's/^/piped: /'
echo "== exec and descriptors"
exec 3>fd3
echo "via 3" >&3
echo "again via 3" >&3
exec 3>&-
cat fd3
exec 4<fd3
read -r first <&4
read -r second <&4
exec 4<&-
echo "read: $first / $second"
echo hello >rw
exec 5<>rw
read -r w <&5
echo "<> read: $w"
exec 5>&-
echo "== noclobber"
set -C
echo new >f 2>/dev/null || echo "refused to clobber"
echo forced >|f
cat f
set +C
echo "== redirection errors"
cat </nonexistent/x 2>/dev/null; echo "missing input: $?"
echo x >/nonexistent/x 2>/dev/null; echo "missing dir: $?"
echo x >/tmp 2>/dev/null; echo "a directory: $?"
echo "== a big file through redirections"
seq 1 50000 >big
wc -l <big
sort -rn big >sorted
head -n 1 sorted
cat big big >>twice
wc -l twice
echo "== /dev"
echo gone >/dev/null; echo "null: $?"
head -c 16 /dev/zero | od -An -tx1 | tr -s ' '
dd if=/dev/urandom bs=32 count=1 2>/dev/null | wc -c
