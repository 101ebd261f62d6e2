//! std::fs on this kernel, in /tmp/std_fs: create_dir_all, write/read_to_string,
//! read_dir (sorted names, file types), rename over an existing file, metadata (length,
//! kind, mode, times after 2024), set_permissions, copy, hard and symbolic links,
//! canonicalize, OpenOptions (append, create_new's AlreadyExists, truncate), seeking and
//! set_len, the errors std maps from errno (NotFound, AlreadyExists, DirectoryNotEmpty,
//! NotADirectory, IsADirectory), remove_file/remove_dir/remove_dir_all — nothing is left.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const T: &str = "std_fs";
const ROOT: &str = "/tmp/std_fs";

#[macro_use]
#[path = "../check.rs"]
mod check;
use check::fail;

/// Unwraps an io::Result, failing with the operation's name.
fn ok<V>(r: std::io::Result<V>, what: &str) -> V {
    r.unwrap_or_else(|e| fail(format!("{what}: {e}")))
}

fn kind<V: std::fmt::Debug>(r: std::io::Result<V>) -> Option<ErrorKind> {
    r.err().map(|e| e.kind())
}

fn dirs_and_files() {
    let deep = format!("{ROOT}/a/b/c");
    ok(fs::create_dir_all(&deep), "create_dir_all");
    ok(
        fs::create_dir_all(&deep),
        "create_dir_all of an existing tree",
    );
    check!(Path::new(&deep).is_dir(), "{deep} is not a directory");
    check!(
        kind(fs::create_dir(&deep)) == Some(ErrorKind::AlreadyExists),
        "create_dir again"
    );

    let names = ["zeta", "alpha", "mid", "Beta", "_under"];
    for (i, n) in names.iter().enumerate() {
        ok(
            fs::write(format!("{ROOT}/a/{n}"), format!("file {n} {i}\n")),
            "write",
        );
    }
    for (i, n) in names.iter().enumerate() {
        let s = ok(
            fs::read_to_string(format!("{ROOT}/a/{n}")),
            "read_to_string",
        );
        check!(s == format!("file {n} {i}\n"), "contents of {n}: {s:?}");
    }
    let mut listed: Vec<(String, bool)> = ok(fs::read_dir(format!("{ROOT}/a")), "read_dir")
        .map(|e| {
            let e = ok(e, "read_dir entry");
            let is_dir = ok(e.file_type(), "file_type").is_dir();
            (e.file_name().into_string().unwrap(), is_dir)
        })
        .collect();
    listed.sort();
    let want = [
        ("Beta", false),
        ("_under", false),
        ("alpha", false),
        ("b", true),
        ("mid", false),
        ("zeta", false),
    ];
    let want: Vec<(String, bool)> = want.iter().map(|(n, d)| (n.to_string(), *d)).collect();
    check!(listed == want, "read_dir sorted: {listed:?}");

    // rename: a new name, then over an existing file (replaced atomically).
    ok(
        fs::rename(format!("{ROOT}/a/zeta"), format!("{ROOT}/a/omega")),
        "rename",
    );
    check!(
        !Path::new(&format!("{ROOT}/a/zeta")).exists(),
        "old name still there"
    );
    ok(
        fs::rename(format!("{ROOT}/a/omega"), format!("{ROOT}/a/mid")),
        "rename over a file",
    );
    check!(
        ok(fs::read_to_string(format!("{ROOT}/a/mid")), "read") == "file zeta 0\n",
        "replaced"
    );
    check!(
        kind(fs::rename(format!("{ROOT}/a/alpha"), format!("{ROOT}/a/b")))
            == Some(ErrorKind::IsADirectory),
        "rename a file over a directory"
    );
    check!(
        kind(fs::read_to_string(format!("{ROOT}/a/nope"))) == Some(ErrorKind::NotFound),
        "NotFound"
    );
    check!(
        kind(fs::read_to_string(format!("{ROOT}/a/alpha/x"))) == Some(ErrorKind::NotADirectory),
        "NotADirectory"
    );
    check!(
        kind(fs::read_to_string(format!("{ROOT}/a"))) == Some(ErrorKind::IsADirectory),
        "read of a directory"
    );
}

fn metadata_and_links() {
    let f = format!("{ROOT}/a/alpha");
    let before = SystemTime::now() - Duration::from_secs(5);
    ok(fs::write(&f, vec![7u8; 10_000]), "write 10000");
    let m = ok(fs::metadata(&f), "metadata");
    check!(
        m.is_file() && !m.is_dir() && m.len() == 10_000,
        "metadata {m:?}"
    );
    let mtime = ok(m.modified(), "modified");
    check!(
        mtime >= before && mtime > UNIX_EPOCH + Duration::from_secs(1_704_067_200),
        "mtime {mtime:?}"
    );
    check!(
        m.nlink() == 1 && m.mode() & 0o170000 == 0o100000,
        "nlink/mode {:o}",
        m.mode()
    );
    let mut p = m.permissions();
    p.set_mode(0o640);
    ok(fs::set_permissions(&f, p), "set_permissions");
    check!(
        ok(fs::metadata(&f), "metadata").mode() & 0o7777 == 0o640,
        "mode after chmod"
    );
    p = ok(fs::metadata(&f), "metadata").permissions();
    p.set_readonly(true);
    ok(fs::set_permissions(&f, p), "set_readonly");
    check!(
        ok(fs::metadata(&f), "metadata").permissions().readonly(),
        "readonly"
    );

    let copy = format!("{ROOT}/a/b/copy");
    check!(ok(fs::copy(&f, &copy), "copy") == 10_000, "copied bytes");
    check!(
        ok(fs::read(&copy), "read copy") == vec![7u8; 10_000],
        "copy contents"
    );

    let hard = format!("{ROOT}/hard");
    ok(fs::hard_link(&copy, &hard), "hard_link");
    check!(
        ok(fs::metadata(&copy), "metadata").nlink() == 2,
        "link count 2"
    );
    check!(
        ok(fs::metadata(&copy), "m").ino() == ok(fs::metadata(&hard), "m").ino(),
        "one inode"
    );
    let sym = format!("{ROOT}/sym");
    ok(symlink("a/b/copy", &sym), "symlink");
    check!(
        ok(fs::read_link(&sym), "read_link") == Path::new("a/b/copy"),
        "link target"
    );
    check!(
        ok(fs::symlink_metadata(&sym), "lstat")
            .file_type()
            .is_symlink(),
        "lstat: a link"
    );
    check!(
        ok(fs::metadata(&sym), "stat").len() == 10_000,
        "stat follows the link"
    );
    let canon = ok(
        fs::canonicalize(format!("{ROOT}/a/./b/../b/copy")),
        "canonicalize",
    );
    check!(canon == Path::new(&copy), "canonical {canon:?}");
    check!(
        ok(fs::canonicalize(&sym), "canonicalize link") == Path::new(&copy),
        "through link"
    );
}

fn open_options() {
    let f = format!("{ROOT}/log");
    for line in ["one\n", "two\n", "three\n"] {
        let mut h = ok(
            OpenOptions::new().append(true).create(true).open(&f),
            "open append",
        );
        ok(h.write_all(line.as_bytes()), "append");
    }
    check!(
        ok(fs::read_to_string(&f), "read") == "one\ntwo\nthree\n",
        "appended"
    );
    check!(
        kind(OpenOptions::new().write(true).create_new(true).open(&f))
            == Some(ErrorKind::AlreadyExists),
        "create_new on an existing file"
    );
    let mut h = ok(
        OpenOptions::new().read(true).write(true).open(&f),
        "open rw",
    );
    ok(h.seek(SeekFrom::Start(4)), "seek");
    ok(h.write_all(b"TWO"), "overwrite");
    check!(
        ok(h.seek(SeekFrom::End(-6)), "seek end") == 8,
        "offset from the end"
    );
    let mut s = String::new();
    ok(h.read_to_string(&mut s), "read rest");
    check!(s == "three\n", "read after seek: {s:?}");
    ok(h.set_len(3), "set_len");
    ok(h.set_len(4096), "set_len grow");
    drop(h);
    let data = ok(fs::read(&f), "read");
    check!(
        data.len() == 4096 && &data[..3] == b"one" && data[3..].iter().all(|&b| b == 0),
        "set_len"
    );
    let h = ok(
        OpenOptions::new().write(true).truncate(true).open(&f),
        "truncate",
    );
    check!(ok(h.metadata(), "fstat").len() == 0, "truncated");
}

fn removal() {
    check!(
        kind(fs::remove_dir(format!("{ROOT}/a"))) == Some(ErrorKind::DirectoryNotEmpty),
        "remove_dir of a full directory"
    );
    ok(fs::remove_file(format!("{ROOT}/sym")), "remove symlink");
    ok(fs::remove_file(format!("{ROOT}/hard")), "remove hard link");
    check!(
        ok(fs::metadata(format!("{ROOT}/a/b/copy")), "m").nlink() == 1,
        "count back to 1"
    );
    check!(
        kind(fs::remove_file(format!("{ROOT}/hard"))) == Some(ErrorKind::NotFound),
        "removed twice"
    );
    ok(fs::remove_dir_all(ROOT), "remove_dir_all");
    check!(!Path::new(ROOT).exists(), "{ROOT} still exists");
}

fn main() {
    let _ = fs::remove_dir_all(ROOT);
    dirs_and_files();
    metadata_and_links();
    open_options();
    removal();
    println!("{T}: ok");
}
