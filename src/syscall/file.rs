//! File system calls over the console, pipes and the initrd's directories.

use alloc::sync::Arc;

use crate::error::{Errno, KResult};
use crate::fs::pipe::{PIPE_BUF, Pipe};
use crate::fs::{self, FdTable, File};
use crate::mm::uaccess::{self, UserSlice};
use crate::sync::wait::{self, WaitChan, WakeReason};
use crate::task::sched::current;

const O_CLOEXEC: u32 = 0o2000000;
const O_NONBLOCK: u32 = 0o4000;
const SIGPIPE: u32 = 13;

fn files() -> KResult<Arc<spin::Mutex<FdTable>>> {
    current().inner.lock().files.clone().ok_or(Errno::EBADF)
}

fn file(fd: i32) -> KResult<Arc<File>> {
    files()?.lock().get(fd)
}

/// Bytes are copied through a kernel buffer in chunks of this size.
const CHUNK: usize = 256;

pub fn write(fd: i32, buf: usize, len: usize) -> KResult<usize> {
    let f = file(fd)?;
    let src = UserSlice::new(buf, len)?;
    let mut done = 0;
    let mut chunk = [0u8; CHUNK];
    while done < len {
        let n = (len - done).min(CHUNK);
        if uaccess::copy_from_user(&mut chunk[..n], src.addr() + done).is_err() {
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EFAULT)
            };
        }
        match &*f {
            File::Console => crate::console::write_bytes(&chunk[..n]),
            File::PipeWrite(p) => {
                let wrote = pipe_write(p, &chunk[..n])?;
                if wrote < n {
                    return Ok(done + wrote);
                }
            }
            File::PipeRead(_) => return Err(Errno::EBADF),
        }
        done += n;
    }
    Ok(done)
}

pub fn writev(fd: i32, iov: usize, iovcnt: usize) -> KResult<usize> {
    if iovcnt > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut total = 0;
    for i in 0..iovcnt {
        let base = uaccess::get_user_u64(iov + i * 16)? as usize;
        let len = uaccess::get_user_u64(iov + i * 16 + 8)? as usize;
        if len == 0 {
            continue;
        }
        match write(fd, base, len) {
            Ok(n) => total += n,
            Err(e) if total == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(total)
}

pub fn read(fd: i32, buf: usize, len: usize) -> KResult<usize> {
    let f = file(fd)?;
    let dst = UserSlice::new(buf, len)?;
    match &*f {
        File::Console => {
            // Whatever the UART has buffered; 0 (end of file) if nothing.
            let mut tmp = [0u8; CHUNK];
            let mut n = 0;
            while n < len.min(CHUNK) {
                match crate::console::try_getc() {
                    Some(c) => {
                        tmp[n] = c;
                        n += 1;
                    }
                    None => break,
                }
            }
            dst.write_from(&tmp[..n])?;
            Ok(n)
        }
        File::PipeRead(p) => pipe_read(p, dst),
        File::PipeWrite(_) => Err(Errno::EBADF),
    }
}

fn pipe_read(p: &Pipe, dst: UserSlice) -> KResult<usize> {
    loop {
        let mut tmp = [0u8; CHUNK];
        let n = {
            let mut inner = p.inner.lock();
            if inner.buf.is_empty() && inner.writers == 0 {
                return Ok(0);
            }
            let n = inner.buf.len().min(dst.len()).min(CHUNK);
            for b in tmp.iter_mut().take(n) {
                *b = inner.buf.pop_front().unwrap();
            }
            n
        };
        if n > 0 || dst.is_empty() {
            wait::wakeup(WaitChan::Pipe(p.id));
            dst.write_from(&tmp[..n])?;
            return Ok(n);
        }
        if wait::sleep(WaitChan::Pipe(p.id), None) == WakeReason::Killed {
            return Err(Errno::EINTR);
        }
    }
}

fn pipe_write(p: &Pipe, data: &[u8]) -> KResult<usize> {
    let mut done = 0;
    while done < data.len() {
        {
            let mut inner = p.inner.lock();
            if inner.readers == 0 {
                drop(inner);
                // Linux raises SIGPIPE (fatal unless ignored), and the write fails.
                let _ = super::process::send_signal(current().tgid, SIGPIPE);
                return Err(Errno::EPIPE);
            }
            let room = PIPE_BUF - inner.buf.len();
            let n = room.min(data.len() - done);
            inner.buf.extend(&data[done..done + n]);
            done += n;
        }
        wait::wakeup(WaitChan::Pipe(p.id));
        if done < data.len() && wait::sleep(WaitChan::Pipe(p.id), None) == WakeReason::Killed {
            return Err(Errno::EINTR);
        }
    }
    Ok(done)
}

pub fn close(fd: i32) -> KResult<usize> {
    let f = files()?.lock().remove(fd)?;
    drop(f); // outside the table lock: closing a pipe end wakes its peers
    Ok(0)
}

pub fn dup(fd: i32) -> KResult<usize> {
    let table = files()?;
    let mut t = table.lock();
    let f = t.get(fd)?;
    t.install(f, 0).map(|fd| fd as usize)
}

pub fn dup3(old: i32, new: i32, flags: u32) -> KResult<usize> {
    if old == new || flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let replaced = files()?.lock().dup_to(old, new)?;
    drop(replaced);
    Ok(new as usize)
}

pub fn pipe2(fds: usize, flags: u32) -> KResult<usize> {
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
        return Err(Errno::EINVAL);
    }
    let slot = UserSlice::new(fds, 8)?;
    let pipe = Arc::new(Pipe::new());
    let table = files()?;
    let (r, w) = {
        let mut t = table.lock();
        let r = t.install(Arc::new(File::PipeRead(pipe.clone())), 0)?;
        match t.install(Arc::new(File::PipeWrite(pipe)), 0) {
            Ok(w) => (r, w),
            Err(e) => {
                let f = t.remove(r);
                drop(t);
                drop(f);
                return Err(e);
            }
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&r.to_le_bytes());
    out[4..].copy_from_slice(&w.to_le_bytes());
    if slot.write_from(&out).is_err() {
        let mut t = table.lock();
        let closed = (t.remove(r), t.remove(w));
        drop(t);
        drop(closed);
        return Err(Errno::EFAULT);
    }
    Ok(0)
}

fn fs_struct() -> KResult<Arc<spin::Mutex<fs::FsStruct>>> {
    current().inner.lock().fs.clone().ok_or(Errno::EINVAL)
}

pub fn umask(mask: u32) -> KResult<usize> {
    let fs = fs_struct()?;
    let mut f = fs.lock();
    let old = f.umask;
    f.umask = mask & 0o777;
    Ok(old as usize)
}

pub fn getcwd(buf: usize, size: usize) -> KResult<usize> {
    let cwd = fs_struct()?.lock().cwd.clone();
    if size < cwd.len() + 1 {
        return Err(Errno::ERANGE);
    }
    let mut bytes = alloc::vec::Vec::from(cwd.as_bytes());
    bytes.push(0);
    uaccess::copy_to_user(buf, &bytes)?;
    Ok(bytes.len())
}

pub fn chdir(path: usize) -> KResult<usize> {
    let path = uaccess::get_user_str(path, 256)?;
    let fs = fs_struct()?;
    let target = fs::resolve(&fs.lock().cwd, &path);
    match crate::initrd::kind(&target) {
        Some(true) => {
            fs.lock().cwd = target;
            Ok(0)
        }
        Some(false) => Err(Errno::ENOTDIR),
        None => Err(Errno::ENOENT),
    }
}

/// `struct stat` of the generic (arm64) ABI: 128 bytes; st_mode at 16, st_nlink at 20,
/// st_rdev at 32, st_size at 48, st_blksize at 56, st_blocks at 64.
fn stat_bytes(mode: u32, size: usize, rdev: u64) -> [u8; 128] {
    let mut st = [0u8; 128];
    st[16..20].copy_from_slice(&mode.to_le_bytes());
    st[20..24].copy_from_slice(&1u32.to_le_bytes());
    st[32..40].copy_from_slice(&rdev.to_le_bytes());
    st[48..56].copy_from_slice(&(size as u64).to_le_bytes());
    st[56..60].copy_from_slice(&4096u32.to_le_bytes());
    st[64..72].copy_from_slice(&(size.div_ceil(512) as u64).to_le_bytes());
    st
}

const S_IFIFO: u32 = 0o010000;
const S_IFCHR: u32 = 0o020000;
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
/// The console is /dev/ttyAMA0: major 204, minor 64.
const CONSOLE_RDEV: u64 = (204 << 8) | 64;

/// fstat(2): the console is a character device, pipes are FIFOs (so a libc decides that
/// stdout is a terminal and line-buffers it).
pub fn fstat(fd: i32, buf: usize) -> KResult<usize> {
    let st = match &*file(fd)? {
        File::Console => stat_bytes(S_IFCHR | 0o620, 0, CONSOLE_RDEV),
        File::PipeRead(_) | File::PipeWrite(_) => stat_bytes(S_IFIFO | 0o600, 0, 0),
    };
    uaccess::copy_to_user(buf, &st)?;
    Ok(0)
}

const AT_FDCWD: i32 = -100;
const AT_EMPTY_PATH: u32 = 0x1000;

/// newfstatat(2): AT_EMPTY_PATH on a descriptor, or a path in the initrd.
pub fn newfstatat(dirfd: i32, path: usize, buf: usize, flags: u32) -> KResult<usize> {
    let name = uaccess::get_user_str(path, 256)?;
    if name.is_empty() {
        return if flags & AT_EMPTY_PATH != 0 {
            fstat(dirfd, buf)
        } else {
            Err(Errno::ENOENT)
        };
    }
    if dirfd != AT_FDCWD && !name.starts_with('/') {
        return Err(Errno::ENOTDIR); // directory descriptors do not exist here
    }
    let full = fs::resolve(&fs_struct()?.lock().cwd, &name);
    let st = match crate::initrd::kind(&full) {
        Some(true) => stat_bytes(S_IFDIR | 0o755, 0, 0),
        Some(false) => stat_bytes(
            S_IFREG | 0o755,
            crate::initrd::find(&full).map_or(0, |d| d.len()),
            0,
        ),
        None => return Err(Errno::ENOENT),
    };
    uaccess::copy_to_user(buf, &st)?;
    Ok(0)
}

const TCGETS: u32 = 0x5401;
const TIOCGWINSZ: u32 = 0x5413;

/// ioctl(2): just enough terminal for isatty() and the window size on the console.
pub fn ioctl(fd: i32, request: u32, arg: usize) -> KResult<usize> {
    let f = file(fd)?;
    if !matches!(*f, File::Console) {
        return Err(Errno::ENOTTY);
    }
    match request {
        TCGETS => {
            // The kernel's struct termios (36 bytes: four flag words, c_line, c_cc[19]),
            // not libc's larger one: c_lflag = ICANON | ECHO, the rest zero.
            let mut t = [0u8; 36];
            t[12..16].copy_from_slice(&(0o2u32 | 0o10).to_le_bytes());
            uaccess::copy_to_user(arg, &t)?;
            Ok(0)
        }
        TIOCGWINSZ => {
            let ws: [u16; 4] = [24, 80, 0, 0];
            let mut b = [0u8; 8];
            for (i, v) in ws.iter().enumerate() {
                b[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
            }
            uaccess::copy_to_user(arg, &b)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}
