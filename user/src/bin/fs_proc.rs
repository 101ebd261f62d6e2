//! /proc, as Linux 6.1 has it (every check passes on the Linux oracle too), read the way
//! ps, top, free and uptime read it: /proc/self, /proc/PID/{stat,status,comm,cmdline,
//! maps,exe,cwd,fd/}, /proc/{meminfo,cpuinfo,uptime,stat,loadavg,mounts,filesystems};
//! pid directories come and go with processes (a zombie keeps its own until wait4), and
//! a thread is reachable as /proc/TID and /proc/PID/task/TID without being listed.
//! Values that differ between kernels (memory sizes, times, inode numbers) are only
//! checked for their format and for what they must agree with (fstat, getpid...).
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::fmt::Write;
use core::sync::atomic::{AtomicU32, Ordering};

use ulib::*;

const T: &str = "fs_proc";
const PAGE: usize = 4096;
const MAPFILE: &CStr = c"/tmp/fs_proc.map";

/// prctl option: set the calling thread's comm (ulib has no wrapper for it).
const PR_SET_NAME: usize = 15;

/// Bytes as text for a failure message.
fn s(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or("<not UTF-8>")
}

/// A decimal number that is the whole of `b`.
fn num(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + (c - b'0') as u64)
    })
}

fn hex(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 16 {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10, // Linux prints lowercase
            _ => return None,
        };
        Some(n * 16 + d as u64)
    })
}

/// A path or a line built with write!, NUL-terminated for the kernel.
struct Text {
    b: [u8; 128],
    n: usize,
}

impl Text {
    fn new() -> Text {
        Text { b: [0; 128], n: 0 }
    }
    fn bytes(&self) -> &[u8] {
        &self.b[..self.n]
    }
    fn cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.b).unwrap()
    }
}

impl Write for Text {
    fn write_str(&mut self, x: &str) -> core::fmt::Result {
        if self.n + x.len() >= self.b.len() {
            return Err(core::fmt::Error);
        }
        self.b[self.n..self.n + x.len()].copy_from_slice(x.as_bytes());
        self.n += x.len();
        Ok(())
    }
}

/// "/proc/PID" followed by `tail`.
fn proc_path(pid: isize, tail: &str) -> Text {
    let mut t = Text::new();
    let _ = write!(t, "/proc/{}{}", pid, tail);
    t
}

fn dec(n: isize) -> Text {
    let mut t = Text::new();
    let _ = write!(t, "{}", n);
    t
}

/// The whole of a file, read until end of file; or the errno of open or read.
fn read_all<'a>(path: &CStr, buf: &'a mut [u8]) -> Result<&'a [u8], isize> {
    let fd = open(path, O_RDONLY, 0);
    if fd < 0 {
        return Err(fd);
    }
    let mut n = 0;
    loop {
        let r = read(fd as i32, &mut buf[n..]);
        if r < 0 {
            close(fd as i32);
            return Err(r);
        }
        if r == 0 {
            break;
        }
        n += r as usize;
        check!(
            T,
            n < buf.len(),
            "{:?} is larger than the test's {}-byte buffer",
            path,
            buf.len()
        );
    }
    close(fd as i32);
    Ok(&buf[..n])
}

/// read_all, failing the test if it fails.
fn must_read<'a>(path: &CStr, buf: &'a mut [u8]) -> &'a [u8] {
    match read_all(path, buf) {
        Ok(b) => b,
        Err(e) => fail!(T, "reading {:?} failed with {}", path, e),
    }
}

fn readlink<'a>(path: &CStr, buf: &'a mut [u8]) -> Result<&'a [u8], isize> {
    let r = readlinkat(AT_FDCWD, path, buf);
    if r < 0 {
        Err(r)
    } else {
        Ok(&buf[..r as usize])
    }
}

fn must_readlink<'a>(path: &CStr, buf: &'a mut [u8]) -> &'a [u8] {
    match readlink(path, buf) {
        Ok(b) => b,
        Err(e) => fail!(T, "readlink({:?}) failed with {}", path, e),
    }
}

fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b'\n').filter(|l| !l.is_empty())
}

fn words(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|&c| c == b' ' || c == b'\t')
        .filter(|w| !w.is_empty())
}

/// The names in a directory, by getdents64, passed to `f` with their d_type.
fn list_dir(path: &CStr, mut f: impl FnMut(&[u8], u8)) {
    let fd = open(path, O_RDONLY | O_DIRECTORY, 0);
    check!(T, fd >= 0, "open({:?}, O_DIRECTORY) returned {}", path, fd);
    let mut buf = [0u8; 4096];
    loop {
        let n = getdents64(fd as i32, &mut buf);
        check!(T, n >= 0, "getdents64 of {:?} returned {}", path, n);
        if n == 0 {
            break;
        }
        for d in dirents(&buf[..n as usize]) {
            f(d.name, d.kind);
        }
    }
    close(fd as i32);
}

fn dir_has(path: &CStr, want: &[u8]) -> bool {
    let mut found = false;
    list_dir(path, |name, _| found |= name == want);
    found
}

/// /proc/PID/stat split the way procps does: the comm is what lies between the first
/// '(' and the last ')' (a comm may hold both), the other fields follow, space-separated.
/// Returns (pid, comm, fields 3..), fields[0] being field 3 (state).
fn parse_stat(line: &[u8]) -> (u64, &[u8], [&[u8]; 60], usize) {
    let open = line.iter().position(|&c| c == b'(');
    let close = line.iter().rposition(|&c| c == b')');
    let (Some(open), Some(close)) = (open, close) else {
        fail!(T, "a stat line without (comm): {:?}", s(line));
    };
    check!(
        T,
        open >= 2 && line[open - 1] == b' ' && line.get(close + 1) == Some(&b' '),
        "stat: no spaces around (comm): {:?}",
        s(line)
    );
    let pid = num(&line[..open - 1])
        .unwrap_or_else(|| fail!(T, "stat: field 1 is not a number: {:?}", s(line)));
    let rest = line[close + 2..]
        .strip_suffix(b"\n")
        .unwrap_or_else(|| fail!(T, "stat: no newline at the end: {:?}", s(line)));
    let mut fields = [&b""[..]; 60];
    let mut n = 0;
    for f in rest.split(|&c| c == b' ') {
        check!(
            T,
            n < 60 && !f.is_empty(),
            "stat: an empty or 63rd field: {:?}",
            s(line)
        );
        fields[n] = f;
        n += 1;
    }
    (pid, &line[open + 1..close], fields, n + 2)
}

/// Field `k` (numbered from 1 as in proc(5), k >= 3) as a number.
fn stat_num(fields: &[&[u8]; 60], k: usize) -> i64 {
    let f = fields[k - 3];
    let v = match f.strip_prefix(b"-") {
        Some(neg) => num(neg).map(|v| -(v as i64)),
        None => num(f).map(|v| v as i64),
    };
    v.unwrap_or_else(|| fail!(T, "stat field {} is {:?}, not a number", k, s(f)))
}

/// The value after "Key:\t" in a status file.
fn status_value<'a>(status: &'a [u8], key: &str) -> &'a [u8] {
    for l in lines(status) {
        if let Some(v) = l
            .strip_prefix(key.as_bytes())
            .and_then(|v| v.strip_prefix(b":\t"))
        {
            return v;
        }
    }
    fail!(T, "status has no line \"{}:\\t...\": {:?}", key, s(status));
}

/// The last component of a path, cut to 15 bytes as Linux cuts a comm (TASK_COMM_LEN).
fn comm_of(path: &[u8]) -> &[u8] {
    let base = path.rsplit(|&c| c == b'/').next().unwrap_or(path);
    &base[..base.len().min(15)]
}

fn self_and_stat(args: &Args) {
    let me = getpid();
    let mut b = [0u8; 64];
    let link = must_readlink(c"/proc/self", &mut b);
    check!(
        T,
        link == dec(me).bytes(),
        "readlink(/proc/self) is {:?}, getpid() {}",
        s(link),
        me
    );

    let mut buf = [0u8; 1024];
    let stat = must_read(proc_path(me, "/stat").cstr(), &mut buf);
    let (pid, comm, f, count) = parse_stat(stat);
    check!(
        T,
        pid == me as u64,
        "stat field 1 (pid) is {}, getpid() {}",
        pid,
        me
    );
    check!(
        T,
        count == 52,
        "stat has {} fields, Linux 6.1: 52: {:?}",
        count,
        s(stat)
    );
    check!(
        T,
        f[0] == b"R",
        "stat field 3 (state) of the reader itself is {:?}, want R",
        s(f[0])
    );
    check!(
        T,
        stat_num(&f, 4) == getppid() as i64,
        "stat field 4 (ppid) is {}, getppid() {}",
        stat_num(&f, 4),
        getppid()
    );
    check!(
        T,
        stat_num(&f, 5) == getpgid(0) as i64,
        "stat field 5 (pgrp) is {}, getpgid() {}",
        stat_num(&f, 5),
        getpgid(0)
    );
    check!(
        T,
        stat_num(&f, 6) == getsid(0) as i64,
        "stat field 6 (session) is {}, getsid() {}",
        stat_num(&f, 6),
        getsid(0)
    );
    check!(
        T,
        stat_num(&f, 20) == 1,
        "stat field 20 (num_threads) is {}, want 1",
        stat_num(&f, 20)
    );
    check!(
        T,
        stat_num(&f, 23) > 0 && stat_num(&f, 24) > 0,
        "stat fields 23 (vsize) {} and 24 (rss) {} must be > 0",
        stat_num(&f, 23),
        stat_num(&f, 24)
    );
    for k in [14, 15, 22] {
        stat_num(&f, k); // utime, stime, starttime: numbers
    }
    // Our comm is the name of the program the process exec'd (we were forked since).
    let argv0 = args.get(0).unwrap_or("").as_bytes();
    check!(
        T,
        comm == comm_of(argv0),
        "stat: comm {:?}, the program is {:?}",
        s(comm),
        s(argv0)
    );
    let mut cb = [0u8; 64];
    let c = must_read(c"/proc/self/comm", &mut cb);
    check!(
        T,
        c.strip_suffix(b"\n") == Some(comm),
        "/proc/self/comm is {:?}, stat's comm {:?}",
        s(c),
        s(comm)
    );

    let mut sb = [0u8; 4096];
    let status = must_read(proc_path(me, "/status").cstr(), &mut sb);
    check!(
        T,
        status_value(status, "Name") == comm,
        "status Name: {:?}",
        s(status_value(status, "Name"))
    );
    check!(
        T,
        status_value(status, "State") == b"R (running)",
        "status State: {:?}",
        s(status_value(status, "State"))
    );
    for (key, want) in [
        ("Tgid", me),
        ("Pid", me),
        ("PPid", getppid()),
        ("Threads", 1),
    ] {
        let v = status_value(status, key);
        check!(
            T,
            v == dec(want).bytes(),
            "status {}: {:?}, want {}",
            key,
            s(v),
            want
        );
    }
    let rss = status_value(status, "VmRSS");
    let kb = rss.strip_suffix(b" kB").map(|v| v.trim_ascii_start());
    check!(
        T,
        kb.and_then(num).is_some_and(|v| v > 0),
        "status VmRSS: {:?}, want \"<spaces>N kB\"",
        s(rss)
    );
}

/// prctl(PR_SET_NAME) in a child: a comm with ')' and '(' in it still parses, and a long
/// one is cut to 15 bytes.
fn odd_comm() {
    let code = wait_exit_code(spawn(|| {
        for (name, want) in [
            (c"a) (b c", &b"a) (b c"[..]),
            (c"0123456789abcdefgh", b"0123456789abcde"),
        ] {
            let r = syscall(SYS_PRCTL, &[PR_SET_NAME, name.as_ptr() as usize]);
            check!(T, r == 0, "prctl(PR_SET_NAME, {:?}) returned {}", name, r);
            let mut buf = [0u8; 1024];
            let stat = must_read(c"/proc/self/stat", &mut buf);
            let (pid, comm, f, count) = parse_stat(stat);
            check!(
                T,
                pid == getpid() as u64 && comm == want && f[0] == b"R" && count == 52,
                "stat with comm {:?}: {:?}",
                name,
                s(stat)
            );
            let mut cb = [0u8; 64];
            let c = must_read(c"/proc/self/comm", &mut cb);
            check!(
                T,
                c.strip_suffix(b"\n") == Some(want),
                "/proc/self/comm after PR_SET_NAME {:?}: {:?}",
                name,
                s(c)
            );
        }
        0
    }));
    if code == 1 {
        exit_group(1);
    }
    check!(T, code == 0, "the PR_SET_NAME child ended with {}", code);
}

/// The argv the program was started with, each string NUL-terminated: /proc/self/cmdline.
fn own_cmdline(args: &Args) {
    let mut want = [0u8; 1024];
    let mut n = 0;
    for i in 0..args.argc {
        let a = args.get(i).unwrap_or("").as_bytes();
        want[n..n + a.len()].copy_from_slice(a);
        n += a.len() + 1;
    }
    let mut buf = [0u8; 1024];
    let got = must_read(c"/proc/self/cmdline", &mut buf);
    check!(
        T,
        got == &want[..n],
        "/proc/self/cmdline is {:?}, argv {:?}",
        s(got),
        s(&want[..n])
    );
}

/// Runs this program again through the path /proc/self/exe gives, with odd arguments;
/// that copy checks its own cmdline and comm (see `cmdline_child`).
fn exec_cmdline(args: &Args) {
    let mut b = [0u8; 256];
    let exe = must_readlink(c"/proc/self/exe", &mut b);
    let want = args.self_path();
    let want = CStr::from_bytes_until_nul(&want).unwrap().to_bytes();
    check!(
        T,
        exe == want,
        "/proc/self/exe is {:?}, the program {:?}",
        s(exe),
        s(want)
    );
    let mut path = [0u8; 257];
    path[..exe.len()].copy_from_slice(exe);
    let argv = [
        c"fs_proc".as_ptr(),
        c"cmdline".as_ptr(),
        c"a b".as_ptr(),
        c"".as_ptr(),
        c"c".as_ptr(),
        core::ptr::null(),
    ];
    let code = wait_exit_code(spawn(|| {
        let r = execve_slices(path.as_ptr(), &argv, &[core::ptr::null()]);
        println!(
            "{}: FAILED execve of /proc/self/exe's {:?} returned {}",
            T,
            s(exe),
            r
        );
        1
    }));
    if code == 1 {
        exit_group(1);
    }
    check!(T, code == 0, "the exec'd copy ended with {}", code);
}

fn cmdline_child() -> i32 {
    let mut buf = [0u8; 256];
    let got = must_read(c"/proc/self/cmdline", &mut buf);
    let want = b"fs_proc\0cmdline\0a b\0\0c\0";
    check!(
        T,
        got == want,
        "after execve: /proc/self/cmdline is {:?}, want {:?}",
        s(got),
        s(want)
    );
    let mut b = [0u8; 256];
    let exe = must_readlink(c"/proc/self/exe", &mut b);
    let mut cb = [0u8; 64];
    let comm = must_read(c"/proc/self/comm", &mut cb);
    check!(
        T,
        comm.strip_suffix(b"\n") == Some(comm_of(exe)),
        "after execve of {:?} with argv[0] \"fs_proc\": comm {:?} (Linux names it after the file)",
        s(exe),
        s(comm)
    );
    0
}

/// One line of /proc/PID/maps: `start-end perms offset major:minor inode [path]`.
struct MapLine<'a> {
    start: u64,
    end: u64,
    perms: &'a [u8],
    offset: u64,
    dev: (u64, u64),
    inode: u64,
    path: &'a [u8],
}

fn parse_map_line(l: &[u8]) -> MapLine<'_> {
    let mut w = words(l);
    let bad = || -> ! { fail!(T, "maps: a line not in Linux's format: {:?}", s(l)) };
    let range = w.next().unwrap_or_else(|| bad());
    let dash = range
        .iter()
        .position(|&c| c == b'-')
        .unwrap_or_else(|| bad());
    let (start, end) = (&range[..dash], &range[dash + 1..]);
    let perms = w.next().unwrap_or_else(|| bad());
    let offset = w.next().unwrap_or_else(|| bad());
    let dev = w.next().unwrap_or_else(|| bad());
    let inode = w.next().unwrap_or_else(|| bad());
    // The path starts after padding and may hold spaces: it is the rest of the line.
    let path = w.next().map_or(&b""[..], |p| {
        let at = p.as_ptr() as usize - l.as_ptr() as usize;
        &l[at..]
    });
    let ok_perms = perms.len() == 4
        && matches!(perms[0], b'r' | b'-')
        && matches!(perms[1], b'w' | b'-')
        && matches!(perms[2], b'x' | b'-')
        && matches!(perms[3], b'p' | b's');
    check!(
        T,
        start.len() >= 8
            && end.len() >= 8
            && offset.len() >= 8
            && ok_perms
            && dev.len() == 5
            && dev[2] == b':',
        "maps: a line not in Linux's format: {:?}",
        s(l)
    );
    MapLine {
        start: hex(start).unwrap_or_else(|| bad()),
        end: hex(end).unwrap_or_else(|| bad()),
        perms,
        offset: hex(offset).unwrap_or_else(|| bad()),
        dev: (
            hex(&dev[..2]).unwrap_or_else(|| bad()),
            hex(&dev[3..]).unwrap_or_else(|| bad()),
        ),
        inode: num(inode).unwrap_or_else(|| bad()),
        path,
    }
}

/// The line of /proc/self/maps whose range contains `addr`; checks every line's format
/// and that the ranges are sorted and disjoint.
fn find_map(maps: &[u8], addr: usize) -> Option<MapLine<'_>> {
    let mut last_end = 0;
    let mut found = None;
    for l in lines(maps) {
        let m = parse_map_line(l);
        check!(
            T,
            m.start < m.end
                && m.start >= last_end
                && m.start.is_multiple_of(PAGE as u64)
                && m.end.is_multiple_of(PAGE as u64),
            "maps: ranges out of order or unaligned at {:?}",
            s(l)
        );
        last_end = m.end;
        if (m.start..m.end).contains(&(addr as u64)) {
            found = Some(m);
        }
    }
    found
}

fn expect_map(what: &str, addr: usize, len: usize, perms: &[u8], offset: u64, path: &[u8]) {
    let mut buf = [0u8; 16384];
    let maps = must_read(c"/proc/self/maps", &mut buf);
    let Some(m) = find_map(maps, addr) else {
        fail!(
            T,
            "maps: {}: no line holds {:#x}: {:?}",
            what,
            addr,
            s(maps)
        );
    };
    check!(
        T,
        m.start == addr as u64
            && m.end == (addr + len) as u64
            && m.perms == perms
            && m.offset == offset
            && m.path == path,
        "maps: {}: want {:x}-{:x} {} {:08x} ... {:?}, got {:x}-{:x} {} {:08x} ... {:?}",
        what,
        addr,
        addr + len,
        s(perms),
        offset,
        s(path),
        m.start,
        m.end,
        s(m.perms),
        m.offset,
        s(m.path)
    );
    if path.is_empty() {
        check!(
            T,
            m.dev == (0, 0) && m.inode == 0,
            "maps: {}: anonymous memory has device {:?} inode {}, want 00:00 0",
            what,
            m.dev,
            m.inode
        );
    }
}

fn maps() {
    let mut b = [0u8; 256];
    let exe = must_readlink(c"/proc/self/exe", &mut b);
    let mut buf = [0u8; 16384];
    let maps = must_read(c"/proc/self/maps", &mut buf);
    let main_addr = main as *const () as usize;
    let text = find_map(maps, main_addr);
    check!(
        T,
        text.as_ref()
            .is_some_and(|m| m.perms == b"r-xp" && m.path == exe),
        "maps: the line holding main() ({:#x}) should be r-xp with path {:?}: {:?}",
        main_addr,
        s(exe),
        s(maps)
    );
    let on_stack = 0u8;
    let stack = find_map(maps, &raw const on_stack as usize);
    check!(
        T,
        stack
            .as_ref()
            .is_some_and(|m| m.path == b"[stack]" && m.perms == b"rw-p"),
        "maps: the line holding the stack ({:#x}) should be rw-p [stack]: {:?}",
        &raw const on_stack as usize,
        s(maps)
    );

    // Our own mapping, then split in three by mprotect: three lines.
    let a = mmap(0, 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
    check!(T, a > 0, "mmap returned {}", a);
    let a = a as usize;
    expect_map("a 3-page PROT_READ mapping", a, 3 * PAGE, b"r--p", 0, b"");
    check!(
        T,
        mprotect(a + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0,
        "mprotect"
    );
    expect_map("its first page", a, PAGE, b"r--p", 0, b"");
    expect_map(
        "its middle page, made writable",
        a + PAGE,
        PAGE,
        b"rw-p",
        0,
        b"",
    );
    expect_map("its last page", a + 2 * PAGE, PAGE, b"r--p", 0, b"");
    munmap(a, 3 * PAGE);
    let maps = must_read(c"/proc/self/maps", &mut buf);
    check!(
        T,
        find_map(maps, a + PAGE).is_none(),
        "maps: a line for the range after munmap: {:?}",
        s(maps)
    );

    // A file mapping names the file, its page offset, device and inode (as fstat does).
    let fd = open(MAPFILE, O_RDWR | O_CREAT | O_TRUNC, 0o600) as i32;
    check!(T, fd >= 0, "open({:?}) returned {}", MAPFILE, fd);
    check!(
        T,
        write(fd, &[7u8; 2 * PAGE]) == 2 * PAGE as isize,
        "write to {:?}",
        MAPFILE
    );
    let st = fstat(fd).unwrap_or_else(|e| fail!(T, "fstat of {:?} returned {}", MAPFILE, e));
    let (st_dev, st_ino) = (st.dev, st.ino);
    let f = mmap6(0, PAGE, PROT_READ, MAP_SHARED, fd as usize, PAGE);
    check!(T, f > 0, "mmap of {:?} returned {}", MAPFILE, f);
    let f = f as usize;
    expect_map(
        "a shared file mapping at offset 4096",
        f,
        PAGE,
        b"r--s",
        PAGE as u64,
        MAPFILE.to_bytes(),
    );
    let maps = must_read(c"/proc/self/maps", &mut buf);
    let m = find_map(maps, f).unwrap();
    // The kernel's dev_t: major in bits 8-19, minor in bits 0-7 and 20-31 (new_encode_dev).
    let dev = (
        (st_dev >> 8) & 0xfff,
        (st_dev & 0xff) | ((st_dev >> 12) & 0xfff00),
    );
    check!(
        T,
        m.inode == st_ino && m.dev == dev,
        "maps: the file's device {:?} and inode {}, fstat: {:?} and {}",
        m.dev,
        m.inode,
        dev,
        st_ino
    );
    munmap(f, PAGE);
    let p = mmap6(
        0,
        2 * PAGE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE,
        fd as usize,
        0,
    );
    check!(T, p > 0, "mmap of {:?} returned {}", MAPFILE, p);
    expect_map(
        "a private file mapping",
        p as usize,
        2 * PAGE,
        b"rw-p",
        0,
        MAPFILE.to_bytes(),
    );
    munmap(p as usize, 2 * PAGE);
    close(fd);
}

fn links_and_fds() {
    let mut b = [0u8; 256];
    check!(T, chdir(c"/tmp") == 0, "chdir /tmp");
    let cwd = must_readlink(c"/proc/self/cwd", &mut b);
    check!(
        T,
        cwd == b"/tmp",
        "/proc/self/cwd after chdir(\"/tmp\") is {:?}",
        s(cwd)
    );
    check!(T, chdir(c"/") == 0, "chdir /");
    let cwd = must_readlink(c"/proc/self/cwd", &mut b);
    check!(
        T,
        cwd == b"/",
        "/proc/self/cwd after chdir(\"/\") is {:?}",
        s(cwd)
    );

    let low = open(MAPFILE, O_RDONLY, 0) as i32;
    check!(T, low >= 0, "open({:?}) returned {}", MAPFILE, low);
    // A high number, so that the directory listings below cannot reuse it once closed.
    let fd = 40;
    check!(T, dup3(low, fd, 0) == fd as isize, "dup3 to {}", fd);
    close(low);
    let name = dec(fd as isize);
    check!(
        T,
        dir_has(c"/proc/self/fd", name.bytes()),
        "/proc/self/fd does not list the open fd {}",
        fd
    );
    // Every entry is a descriptor number, except . and ..; stdout (we print) is there.
    list_dir(c"/proc/self/fd", |n, _| {
        check!(
            T,
            n == b"." || n == b".." || num(n).is_some(),
            "/proc/self/fd lists {:?}",
            s(n)
        );
    });
    check!(
        T,
        dir_has(c"/proc/self/fd", b"1"),
        "/proc/self/fd does not list stdout"
    );
    let link = proc_path(getpid(), "/fd/");
    let mut link_n = Text::new();
    let _ = write!(link_n, "{}{}", s(link.bytes()), fd);
    let target = must_readlink(link_n.cstr(), &mut b);
    check!(
        T,
        target == MAPFILE.to_bytes(),
        "readlink({:?}) is {:?}, want the file's path",
        link_n.cstr(),
        s(target)
    );
    close(fd);
    check!(
        T,
        !dir_has(c"/proc/self/fd", name.bytes()),
        "/proc/self/fd still lists fd {} after close",
        fd
    );
    let r = readlink(link_n.cstr(), &mut b).err();
    check!(
        T,
        r == Some(-ENOENT),
        "readlink of a closed fd's link returned {:?}, Linux: -ENOENT",
        r
    );
    let p = pipe();
    let mut link_p = Text::new();
    let _ = write!(link_p, "/proc/self/fd/{}", p[0]);
    let target = must_readlink(link_p.cstr(), &mut b);
    check!(
        T,
        target.starts_with(b"pipe:[") && target.ends_with(b"]"),
        "readlink of a pipe's fd is {:?}, Linux: \"pipe:[INODE]\"",
        s(target)
    );
    close(p[0]);
    close(p[1]);
}

/// "Key:" then spaces, a number, " kB" (the meminfo format).
fn meminfo_value(line: &[u8], key: &str) -> u64 {
    let v = line
        .strip_prefix(key.as_bytes())
        .and_then(|v| v.strip_prefix(b":"));
    let v = v
        .and_then(|v| v.strip_suffix(b" kB"))
        .map(|v| v.trim_ascii_start());
    v.and_then(num)
        .unwrap_or_else(|| fail!(T, "meminfo: {:?} is not \"{}:   N kB\"", s(line), key))
}

/// "N.NN": seconds or a load average with two decimals.
fn two_decimals(w: &[u8]) -> bool {
    w.len() >= 4
        && w[w.len() - 3] == b'.'
        && num(&w[..w.len() - 3]).is_some()
        && num(&w[w.len() - 2..]).is_some()
}

fn meminfo() {
    let mut buf = [0u8; 8192];
    let mem = must_read(c"/proc/meminfo", &mut buf);
    let mut l = lines(mem);
    let total = meminfo_value(l.next().unwrap_or(b""), "MemTotal");
    let free = meminfo_value(l.next().unwrap_or(b""), "MemFree");
    let avail = meminfo_value(l.next().unwrap_or(b""), "MemAvailable");
    check!(
        T,
        total > 0 && free <= total && avail <= total,
        "meminfo: MemTotal {} MemFree {} MemAvailable {}",
        total,
        free,
        avail
    );
}

fn cpuinfo() {
    let mut buf = [0u8; 8192];
    let cpus = cpu_count();
    let info = must_read(c"/proc/cpuinfo", &mut buf);
    let mut n = 0;
    for l in lines(info).filter(|l| l.starts_with(b"processor")) {
        let v = l.strip_prefix(b"processor\t: ").and_then(num);
        check!(
            T,
            v == Some(n as u64),
            "cpuinfo: {:?}, want \"processor\\t: {}\"",
            s(l),
            n
        );
        n += 1;
    }
    check!(
        T,
        n == cpus,
        "cpuinfo has {} processor lines, sched_getaffinity says {} CPUs",
        n,
        cpus
    );
}

fn uptime() {
    let mut buf = [0u8; 256];
    let up = must_read(c"/proc/uptime", &mut buf);
    let ws: [&[u8]; 2] = {
        let mut w = up.strip_suffix(b"\n").unwrap_or(b"x").split(|&c| c == b' ');
        [w.next().unwrap_or(b""), w.next().unwrap_or(b"")]
    };
    check!(
        T,
        up.iter().filter(|&&c| c == b' ').count() == 1 && ws.iter().all(|w| two_decimals(w)),
        "/proc/uptime is {:?}, want \"N.NN N.NN\\n\"",
        s(up)
    );
}

fn proc_stat() {
    let mut buf = [0u8; 8192];
    let cpus = cpu_count();
    let stat = must_read(c"/proc/stat", &mut buf);
    let mut l = lines(stat);
    let first = l.next().unwrap_or(b"");
    check!(
        T,
        first.starts_with(b"cpu  ")
            && words(first).skip(1).filter(|w| num(w).is_some()).count() == 10,
        "/proc/stat starts with {:?}, want \"cpu  \" and 10 numbers",
        s(first)
    );
    for i in 0..cpus {
        let line = l.next().unwrap_or(b"");
        let mut w = words(line);
        let name = w.next().unwrap_or(b"");
        check!(
            T,
            name.strip_prefix(b"cpu").and_then(num) == Some(i as u64)
                && w.filter(|w| num(w).is_some()).count() == 10,
            "/proc/stat line {} is {:?}, want \"cpu{}\" and 10 numbers",
            i + 2,
            s(line),
            i
        );
    }
    let value = |key: &[u8]| {
        lines(stat).find_map(|l| {
            let mut w = words(l);
            (w.next() == Some(key))
                .then(|| w.next().and_then(num))
                .flatten()
        })
    };
    check!(
        T,
        value(b"processes").is_some_and(|v| v > 0)
            && value(b"procs_running").is_some_and(|v| v >= 1),
        "/proc/stat: no \"processes N\" or \"procs_running N\" (N >= 1): {:?}",
        s(stat)
    );
}

fn loadavg() {
    let mut buf = [0u8; 256];
    let load = must_read(c"/proc/loadavg", &mut buf);
    let w: [&[u8]; 6] = {
        let mut it = load
            .strip_suffix(b"\n")
            .unwrap_or(b"")
            .split(|&c| c == b' ');
        core::array::from_fn(|_| it.next().unwrap_or(b""))
    };
    let slash = w[3].iter().position(|&c| c == b'/');
    let running_total = slash.and_then(|i| Some((num(&w[3][..i])?, num(&w[3][i + 1..])?)));
    check!(
        T,
        w[..3].iter().all(|x| two_decimals(x))
            && running_total.is_some_and(|(r, t)| r >= 1 && r <= t)
            && num(w[4]).is_some()
            && w[5].is_empty(),
        "/proc/loadavg is {:?}, want \"L.LL L.LL L.LL RUNNING/TOTAL LASTPID\\n\"",
        s(load)
    );
}

fn mounts() {
    let mut buf = [0u8; 8192];
    let mounts = must_read(c"/proc/mounts", &mut buf);
    let (mut root, mut proc, mut tmp) = (false, false, false);
    for l in lines(mounts) {
        let mut it = words(l);
        let f: [&[u8]; 7] = core::array::from_fn(|_| it.next().unwrap_or(b""));
        check!(
            T,
            !f[5].is_empty() && f[6].is_empty() && f[4] == b"0" && f[5] == b"0",
            "/proc/mounts: {:?} is not \"SOURCE TARGET TYPE OPTIONS 0 0\"",
            s(l)
        );
        root |= f[1] == b"/";
        proc |= f[0] == b"proc" && f[1] == b"/proc" && f[2] == b"proc";
        tmp |= f[1] == b"/tmp" && f[2] == b"tmpfs";
    }
    check!(
        T,
        root && proc && tmp,
        "/proc/mounts lacks / ({}), \"proc /proc proc\" ({}) or /tmp as tmpfs ({}): {:?}",
        root,
        proc,
        tmp,
        s(mounts)
    );
}

fn filesystems() {
    let mut buf = [0u8; 8192];
    let fs = must_read(c"/proc/filesystems", &mut buf);
    for want in [&b"nodev\tproc"[..], b"nodev\ttmpfs"] {
        check!(
            T,
            lines(fs).any(|l| l == want),
            "/proc/filesystems lacks {:?}: {:?}",
            s(want),
            s(fs)
        );
    }
}

/// The state field of /proc/PID/stat, or the errno of reading it.
fn state_of(pid: isize) -> Result<u8, isize> {
    let mut buf = [0u8; 1024];
    let stat = read_all(proc_path(pid, "/stat").cstr(), &mut buf)?;
    let (p, _, f, _) = parse_stat(stat);
    check!(T, p == pid as u64, "/proc/{}/stat says pid {}", pid, p);
    Ok(f[0][0])
}

fn pid_dirs() {
    let me = getpid();
    let mut listed_me = false;
    let mut has_self = false;
    list_dir(c"/proc", |name, kind| {
        if num(name).is_some() {
            check!(
                T,
                kind == DT_DIR,
                "getdents64 of /proc: {:?} has d_type {}, want DT_DIR (4)",
                s(name),
                kind
            );
        }
        listed_me |= name == dec(me).bytes();
        has_self |= name == b"self";
    });
    check!(
        T,
        listed_me && has_self,
        "getdents64 of /proc: our pid {} listed: {}, \"self\" listed: {}",
        me,
        listed_me,
        has_self
    );

    // A child that exec'd fs_argv_echo and exited: a zombie until wait4, its directory
    // still there (named after the new program); gone once reaped.
    let out = pipe();
    let pid = fork();
    if pid == 0 {
        dup3(out[1], 1, 0);
        let argv = [c"/bin/fs_argv_echo".as_ptr(), core::ptr::null()];
        let r = execve_slices(argv[0], &argv, &[core::ptr::null()]);
        println!("{}: FAILED execve(/bin/fs_argv_echo) returned {}", T, r);
        exit_group(1);
    }
    close(out[1]);
    let mut sink = [0u8; 512];
    while read(out[0], &mut sink) > 0 {}
    close(out[0]);
    // Its output has ended; it becomes a zombie in a moment (no timing is asserted: we
    // only wait up to 5 s for the state to say so).
    let start = clock_ns();
    let mut state = state_of(pid);
    while state != Ok(b'Z') && clock_ns() - start < 5_000_000_000 {
        sched_yield();
        state = state_of(pid);
    }
    check!(
        T,
        state == Ok(b'Z'),
        "/proc/{}/stat of an exited, unreaped child: state {:?}, want Ok(b'Z') ({})",
        pid,
        state,
        b'Z'
    );
    let mut buf = [0u8; 1024];
    let stat = must_read(proc_path(pid, "/stat").cstr(), &mut buf);
    let (_, comm, f, _) = parse_stat(stat);
    check!(
        T,
        comm == b"fs_argv_echo" && stat_num(&f, 4) == me as i64,
        "the zombie's stat: {:?}, want comm fs_argv_echo and ppid {}",
        s(stat),
        me
    );
    check!(
        T,
        dir_has(c"/proc", dec(pid).bytes()),
        "getdents64 of /proc does not list the zombie {}",
        pid
    );
    check!(T, wait_exit_code(pid) == 0, "the child's exit code");
    let r = read_all(proc_path(pid, "/stat").cstr(), &mut buf).err();
    check!(
        T,
        r == Some(-ENOENT),
        "/proc/{}/stat after wait4 reaped it: {:?}, Linux: Some(-ENOENT)",
        pid,
        r
    );
    let r = ulib::stat(proc_path(pid, "").cstr()).err().unwrap_or(0);
    check!(
        T,
        r == -ENOENT,
        "stat(/proc/{}) after wait4: {}, Linux: -ENOENT",
        pid,
        r
    );
    check!(
        T,
        !dir_has(c"/proc", dec(pid).bytes()),
        "getdents64 of /proc still lists the reaped {}",
        pid
    );
}

static GO: AtomicU32 = AtomicU32::new(0);
static TID: AtomicU32 = AtomicU32::new(0);

extern "C" fn parked(_: usize) -> i32 {
    while GO.load(Ordering::Acquire) == 0 {
        futex_wait(&GO, 0, true);
    }
    0
}

fn threads() {
    let me = getpid();
    let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    let tid = clone_fn(flags, parked, 0, &TID);
    check!(T, tid > 0, "clone of a thread returned {}", tid);
    let mut buf = [0u8; 4096];
    let stat = must_read(c"/proc/self/stat", &mut buf);
    let (_, _, f, _) = parse_stat(stat);
    check!(
        T,
        stat_num(&f, 20) == 2,
        "stat field 20 (num_threads) with a second thread: {}",
        stat_num(&f, 20)
    );
    let status = must_read(c"/proc/self/status", &mut buf);
    check!(
        T,
        status_value(status, "Threads") == b"2",
        "status Threads: {:?} with a second thread",
        s(status_value(status, "Threads"))
    );
    // Threads are listed under task/, not in /proc itself, but /proc/TID opens.
    let task = proc_path(me, "/task");
    check!(
        T,
        dir_has(task.cstr(), dec(me).bytes()) && dir_has(task.cstr(), dec(tid).bytes()),
        "{:?} should list {} and {}",
        task.cstr(),
        me,
        tid
    );
    check!(
        T,
        !dir_has(c"/proc", dec(tid).bytes()),
        "getdents64 of /proc lists the thread {} (Linux lists only thread-group leaders)",
        tid
    );
    let status = must_read(proc_path(tid, "/status").cstr(), &mut buf);
    check!(
        T,
        status_value(status, "Tgid") == dec(me).bytes()
            && status_value(status, "Pid") == dec(tid).bytes(),
        "/proc/{}/status: Tgid {:?} Pid {:?}, want {} and {}",
        tid,
        s(status_value(status, "Tgid")),
        s(status_value(status, "Pid")),
        me,
        tid
    );
    let mut t = Text::new();
    let _ = write!(t, "/proc/{}/task/{}/stat", me, tid);
    let stat = must_read(t.cstr(), &mut buf);
    let (p, _, _, _) = parse_stat(stat);
    check!(
        T,
        p == tid as u64,
        "{:?} says pid {}, want the thread's id {}",
        t.cstr(),
        p,
        tid
    );
    GO.store(1, Ordering::Release);
    futex_wake(&GO, 1, true);
    join(&TID);
}

fn cleanup() {
    unlink(MAPFILE);
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    if args.get(1) == Some("cmdline") {
        return cmdline_child();
    }
    cleanup(); // a previous run that crashed may have left the file behind
    let baseline = settled_mem_usage();
    // The test runs in a child; its parent removes the file whatever happened, and then
    // the frames must be back.
    run_test_process(T, baseline, || {
        let code = wait_exit_code(spawn(|| {
            self_and_stat(&args);
            odd_comm();
            own_cmdline(&args);
            exec_cmdline(&args);
            maps();
            links_and_fds();
            meminfo();
            cpuinfo();
            uptime();
            proc_stat();
            loadavg();
            mounts();
            filesystems();
            pid_dirs();
            threads();
            0
        }));
        cleanup();
        code
    });
    println!("{}: ok", T);
    0
}
