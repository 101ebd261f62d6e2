//! Starting a program (Linux fs/exec.c `do_execveat_common`, `de_thread`,
//! `begin_new_exec` + binfmt_elf): the argument and environment strings are counted and
//! measured against Linux's limits (MAX_ARG_STRLEN per string; all of them, the file name
//! and their pointers within a quarter of RLIMIT_STACK), a fresh address space gets the
//! ELF and the initial stack — the strings copied from the old program's memory straight
//! into the new one — and then, past the point of no return, the other threads of the
//! process die (`de_thread`), close-on-exec descriptors are closed, and the TrapFrame is
//! reset so that returning to user mode enters the program. If a thread other than the
//! leader execs, it takes over the leader's pid, as on Linux: the new program runs in the
//! leader's task and the calling thread ends.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::fs::inode::Kind;
use crate::fs::{self, File, FileKind, namei};
use crate::mm::vm_file::VmFile;

use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;

use super::rlimit::{self, MAX_ARG_STRLEN, RLIMIT_STACK};
use super::sched::{self, CurrentTask, WakeReason, current};
use super::{TaskState, WaitChan, exit};
use crate::arch::{self, TrapFrame};
use crate::error::{Errno, KResult};
use crate::loader::elf::Role;
use crate::loader::{self, stack};
use crate::mm::addr_space::{Prot, STACK_SIZE, STACK_TOP, Vma};
use crate::mm::frame::PAGE_SIZE;
use crate::mm::global::Mm;
use crate::mm::uaccess;

/// User memory is read in pieces of at most this size, never across a page boundary that
/// the data does not reach.
const CHUNK: usize = 256;

/// execve's argv or envp: an array of pointers in the calling program's memory, or
/// kernel strings (init's).
#[derive(Clone, Copy)]
pub enum Strings<'a> {
    User {
        array: usize,
        count: usize,
    },
    Kernel(&'a [&'a str]),
    /// A `#!` script's argv (Linux binfmt_script): the interpreter's words and the
    /// script's path in `prefix`, then `rest` from its index `skip` on.
    Script {
        prefix: &'a [Vec<u8>],
        rest: &'a Strings<'a>,
        skip: usize,
    },
}

/// How many bytes of user memory from `addr` may be read in one go: up to `want`, not
/// past the end of its page.
fn piece(addr: usize, want: usize) -> usize {
    (PAGE_SIZE - addr % PAGE_SIZE).min(want).min(CHUNK)
}

/// Pointer `i` of a user array.
fn user_ptr(array: usize, i: usize) -> KResult<usize> {
    let at = i
        .checked_mul(8)
        .and_then(|o| array.checked_add(o))
        .ok_or(Errno::EFAULT)?;
    Ok(uaccess::get_user_u64(at)? as usize)
}

/// Linux `strnlen_user(s, MAX_ARG_STRLEN)`: the length with the NUL, or more than
/// MAX_ARG_STRLEN if there is no NUL in that many bytes (which are all it reads).
fn strnlen_user(s: usize) -> KResult<usize> {
    let mut len = 0;
    let mut want = 16; // most strings are short: start small
    while len < MAX_ARG_STRLEN {
        let at = s.checked_add(len).ok_or(Errno::EFAULT)?;
        let n = piece(at, want.min(MAX_ARG_STRLEN - len));
        let mut buf = [0u8; CHUNK];
        uaccess::copy_from_user(&mut buf[..n], at)?;
        if let Some(z) = buf[..n].iter().position(|&b| b == 0) {
            return Ok(len + z + 1);
        }
        len += n;
        want = CHUNK;
    }
    Ok(MAX_ARG_STRLEN + 1)
}

impl<'a> Strings<'a> {
    /// Linux `count()`: the pointers up to the NULL one (none for a NULL array). Counting
    /// stops with E2BIG once the pointers alone exceed the largest possible limit (Linux
    /// would count on up to 2^31 and fail the same way, unless the array faults later).
    pub fn from_user(array: usize) -> KResult<Strings<'static>> {
        let mut count = 0;
        if array != 0 {
            let cap = rlimit::arg_limit(rlimit::RLIM_INFINITY) / 8;
            let mut at = array;
            loop {
                let n = piece(at, CHUNK) / 8 * 8;
                let mut buf = [0u8; CHUNK];
                let n = if n == 0 {
                    // A pointer straddling two pages.
                    buf[..8].copy_from_slice(&uaccess::get_user_u64(at)?.to_le_bytes());
                    8
                } else {
                    uaccess::copy_from_user(&mut buf[..n], at)?;
                    n
                };
                if let Some(z) = buf[..n].chunks(8).position(|w| w.iter().all(|&b| b == 0)) {
                    count += z;
                    break;
                }
                count += n / 8;
                if count > cap {
                    return Err(Errno::E2BIG);
                }
                at = at.checked_add(n).ok_or(Errno::EFAULT)?;
            }
        }
        Ok(Strings::User { array, count })
    }

    pub fn count(&self) -> usize {
        match self {
            Strings::User { count, .. } => *count,
            Strings::Kernel(list) => list.len(),
            Strings::Script { prefix, rest, skip } => prefix.len() + rest.count() - skip,
        }
    }

    /// String `i`'s length with its NUL (more than MAX_ARG_STRLEN if too long).
    fn len_of(&self, i: usize) -> KResult<usize> {
        match self {
            Strings::User { array, .. } => strnlen_user(user_ptr(*array, i)?),
            Strings::Kernel(list) => Ok(list[i].len() + 1),
            Strings::Script { prefix, rest, skip } => match prefix.get(i) {
                Some(p) => Ok(p.len() + 1),
                None => rest.len_of(i - prefix.len() + skip),
            },
        }
    }

    /// Linux `copy_strings`' checks, last string first: each at most MAX_ARG_STRLEN (E2BIG)
    /// and readable (EFAULT), `used` (bytes so far) staying within `budget` (E2BIG).
    /// Returns the bytes of these strings.
    fn measure(&self, used: &mut usize, budget: usize) -> KResult<usize> {
        let mut total = 0;
        for i in (0..self.count()).rev() {
            let len = self.len_of(i)?;
            if len > MAX_ARG_STRLEN {
                return Err(Errno::E2BIG);
            }
            total += len;
            *used += len;
            if *used > budget {
                return Err(Errno::E2BIG);
            }
        }
        Ok(total)
    }
}

impl stack::StringSource for Strings<'_> {
    fn count(&self) -> usize {
        Strings::count(self)
    }

    /// The string again, now copied; if it changed meanwhile (another thread), it must
    /// still end within its room.
    fn copy_string(
        &mut self,
        i: usize,
        mem: &mut dyn stack::StackMem,
        va: usize,
        room: usize,
    ) -> KResult<usize> {
        let array = match self {
            Strings::Kernel(list) => return list.copy_string(i, mem, va, room),
            Strings::Script { prefix, rest, skip } => {
                if let Some(p) = prefix.get(i) {
                    if p.len() + 1 > room {
                        return Err(Errno::E2BIG);
                    }
                    mem.write(va, p)?;
                    mem.write(va + p.len(), &[0])?;
                    return Ok(p.len() + 1);
                }
                let mut rest = **rest;
                return rest.copy_string(i - prefix.len() + *skip, mem, va, room);
            }
            Strings::User { array, .. } => *array,
        };
        let s = user_ptr(array, i)?;
        let mut len = 0;
        let limit = room.min(MAX_ARG_STRLEN);
        while len < limit {
            let at = s.checked_add(len).ok_or(Errno::EFAULT)?;
            let n = piece(at, limit - len);
            let mut buf = [0u8; CHUNK];
            uaccess::copy_from_user(&mut buf[..n], at)?;
            let end = buf[..n].iter().position(|&b| b == 0);
            let take = end.map_or(n, |z| z + 1);
            mem.write(va + len, &buf[..take])?;
            len += take;
            if end.is_some() {
                return Ok(len);
            }
        }
        Err(Errno::E2BIG)
    }
}

/// execve's arguments, checked (Linux `bprm` after `copy_strings`).
pub struct ExecArgs<'a> {
    /// The name execve was given (AT_EXECFN).
    filename: &'a [u8],
    argv: Strings<'a>,
    envp: Strings<'a>,
    /// Bytes of the argv and envp strings, NULs included.
    strings_len: usize,
}

/// argv when execve got none: Linux 6.1 passes one empty string.
static EMPTY_ARGV: [&str; 1] = [""];

impl<'a> ExecArgs<'a> {
    /// Linux `bprm_stack_limits` + `copy_strings` (filename, then envp, then argv).
    pub fn new(filename: &'a [u8], argv: Strings<'a>, envp: Strings<'a>) -> KResult<ExecArgs<'a>> {
        let stack = current().rlimit(RLIMIT_STACK).cur;
        let limit = rlimit::arg_limit(stack);
        let argv = if argv.count() == 0 {
            Strings::Kernel(&EMPTY_ARGV)
        } else {
            argv
        };
        let ptr_size = (argv.count() + envp.count()) * 8;
        if limit <= ptr_size {
            return Err(Errno::E2BIG);
        }
        let budget = limit - ptr_size;
        let mut used = filename.len() + 1;
        if used > budget {
            return Err(Errno::E2BIG);
        }
        let strings_len = envp.measure(&mut used, budget)? + argv.measure(&mut used, budget)?;
        Ok(ExecArgs {
            filename,
            argv,
            envp,
            strings_len,
        })
    }
}

/// The new address space as the stack builder writes it.
struct NewStack<'a>(&'a Mm);

impl stack::StackMem for NewStack<'_> {
    fn write(&mut self, va: usize, bytes: &[u8]) -> KResult<()> {
        self.0
            .with(|space, frames| space.write_bytes(frames, va, bytes))
    }
}

/// arm64's AT_MINSIGSTKSZ (Linux `signal_minsigstksz`: the largest signal frame, its
/// frame record and alignment): what Linux 6.1 reports on this CPU (no SVE).
const AT_MINSIGSTKSZ_VALUE: u64 = 4720;

/// Builds the address space for the executable `exe` with `args` (Linux
/// `load_elf_binary`): the program, its dynamic loader if it names one (PT_INTERP), the
/// stack and the vDSO; returns (mm, entry, sp). The entry is the loader's when there is
/// one: it finds the program through the auxiliary vector (AT_PHDR, AT_ENTRY, AT_BASE).
pub fn build_mm(exe: &Arc<File>, args: &ExecArgs) -> KResult<(Arc<Mm>, usize, usize)> {
    // The interpreter is opened and checked before anything is built (Linux: before
    // the point of no return): ENOENT/EACCES from the path, ELIBBAD if it is no AArch64
    // ELF file.
    let interp = match loader::elf::interp_path(&**exe)? {
        Some(path) => {
            let file = open_exec(&path)?;
            loader::elf::check_interp(&*file)?;
            Some(file)
        }
        None => None,
    };
    let mm = Mm::new(Some(exe.clone() as Arc<dyn VmFile>))?;
    let (img, base, vdso) = mm.with(
        |space,
         frames|
         -> KResult<(
            loader::elf::LoadedImage,
            Option<loader::elf::LoadedImage>,
            Option<usize>,
        )> {
            let role = Role::Program {
                has_interp: interp.is_some(),
            };
            let exe_map = exe.clone() as Arc<dyn VmFile>;
            let img = loader::elf::load_image(frames, space, &**exe, role, Some(&exe_map))?;
            let base = match &interp {
                Some(file) => {
                    let map = file.clone() as Arc<dyn VmFile>;
                    let role = Role::Interpreter;
                    Some(loader::elf::load_image(
                        frames,
                        space,
                        &**file,
                        role,
                        Some(&map),
                    )?)
                }
                None => None,
            };
            space.insert_vma(Vma {
                start: STACK_TOP - STACK_SIZE,
                end: STACK_TOP,
                prot: Prot::READ | Prot::WRITE,
                shared: false,
            })?;
            let vdso = crate::vdso::setup_additional_pages(space)?;
            Ok((img, base, vdso))
        },
    )?;
    // Linux `load_elf_binary`: `allow_write_access(interpreter)` once it is mapped.
    if let Some(file) = &interp {
        file.allow_write_access();
    }
    let entry = base.as_ref().map_or(img.entry, |b| b.entry);
    let (hwcap, hwcap2) = arch::hwcap::elf_hwcap();
    // Linux arm64's order (`create_elf_tables`): ARCH_DLINFO first (the vDSO, if this
    // kernel has one, and AT_MINSIGSTKSZ), then the generic entries. AT_RANDOM,
    // AT_EXECFN and AT_NULL are added by the stack builder, last.
    let auxv = [
        (stack::AT_SYSINFO_EHDR, vdso.unwrap_or(0) as u64),
        (stack::AT_MINSIGSTKSZ, AT_MINSIGSTKSZ_VALUE),
        (stack::AT_HWCAP, hwcap),
        (stack::AT_PAGESZ, PAGE_SIZE as u64),
        (stack::AT_CLKTCK, 100),
        (stack::AT_PHDR, img.phdr as u64),
        (stack::AT_PHENT, img.phent as u64),
        (stack::AT_PHNUM, img.phnum as u64),
        (stack::AT_BASE, base.as_ref().map_or(0, |b| b.bias) as u64),
        (stack::AT_FLAGS, 0),
        (stack::AT_ENTRY, img.entry as u64),
        (stack::AT_UID, 0),
        (stack::AT_EUID, 0),
        (stack::AT_GID, 0),
        (stack::AT_EGID, 0),
        (stack::AT_SECURE, 0),
        (stack::AT_HWCAP2, hwcap2),
        (stack::AT_PLATFORM, 0), // the stack builder fills in the string's address
    ];
    let auxv = if vdso.is_some() {
        &auxv[..]
    } else {
        &auxv[1..]
    };
    // AT_RANDOM: 16 bytes for the libc's stack protector and pointer guard.
    let mut random = [0u8; 16];
    crate::random::get_random_bytes(&mut random);
    let layout = stack::layout(
        STACK_TOP,
        STACK_SIZE,
        args.argv.count(),
        args.envp.count(),
        args.strings_len,
        args.filename.len(),
        auxv.len(),
    )
    .ok_or(Errno::E2BIG)?;
    let (mut argv, mut envp) = (args.argv, args.envp);
    stack::build(
        &mut NewStack(&mm),
        &layout,
        &mut argv,
        &mut envp,
        args.filename,
        auxv,
        random,
    )?;
    Ok((mm, entry, layout.sp))
}

/// Replaces the current task's program with `path`, with kernel strings (how init
/// starts).
pub fn exec_current(
    frame: &mut TrapFrame,
    path: &str,
    argv: &[&str],
    envp: &[&str],
) -> KResult<()> {
    do_execve(
        frame,
        path.as_bytes(),
        Strings::Kernel(argv),
        Strings::Kernel(envp),
    )
}

/// Linux `exec_binprm`'s limit: a script's interpreter may be a script, and so on, five
/// deep (the sixth is ELOOP).
const MAX_SCRIPT_DEPTH: usize = 5;
/// Linux BINPRM_BUF_SIZE: the bytes of a file's start read to recognise its format
/// (a `#!` line longer than this is ENOEXEC).
const BINPRM_BUF_SIZE: usize = 256;

/// Opens the program `path` for exec (Linux `do_open_execat`): it must be a regular
/// file (EACCES for anything else, a directory included) with an execute bit.
fn open_exec(path: &[u8]) -> KResult<Arc<File>> {
    let (root, cwd) = {
        let fs = current().inner.lock().fs.clone().ok_or(Errno::ENOENT)?;
        let f = fs.lock();
        (f.root.clone(), f.cwd.clone())
    };
    let start = namei::Start { root, dir: cwd };
    let (inode, dir, name) = namei::lookup_with_parent(&start, path, true)?;
    if !matches!(inode.kind, Kind::Regular) || inode.mode() & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    // The path /proc/PID/exe shows: absolute, with the links followed.
    let mut abs = namei::path_of(&dir, &fs::root()).unwrap_or_default();
    if abs.last() != Some(&b'/') {
        abs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        abs.push(b'/');
    }
    abs.try_reserve(name.len()).map_err(|_| Errno::ENOMEM)?;
    abs.extend_from_slice(&name);
    fs::heap_precheck(size_of::<File>() + 16)?;
    let file = Arc::new(File::with_path(
        FileKind::Inode(inode),
        fs::file::O_RDONLY,
        abs,
    ));
    file.hold_exec_access()?;
    Ok(file)
}

/// A `#!` line's interpreter and optional argument.
pub type Shebang<'a> = (&'a [u8], Option<&'a [u8]>);

/// A `#!` line (Linux binfmt_script `load_script`): the interpreter and its one
/// optional argument (everything after the first blanks, trailing blanks removed).
/// None if `head` does not start with "#!"; ENOEXEC if the line does not end within
/// BINPRM_BUF_SIZE bytes or names no interpreter.
pub fn parse_shebang(head: &[u8]) -> KResult<Option<Shebang<'_>>> {
    let Some(line) = head.strip_prefix(b"#!") else {
        return Ok(None);
    };
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let end = match line.iter().position(|&b| b == b'\n') {
        Some(e) => e,
        None => {
            // No end of line in the first 256 bytes: the line is cut at byte 255, and
            // the interpreter's name must end (blank or NUL) before that, else it may
            // be cut too: ENOEXEC (Linux 6.1 `load_script`).
            let cut = head.len().min(BINPRM_BUF_SIZE - 1) - 2;
            let l = &line[..cut];
            let name = l.iter().position(|b| !blank(b)).ok_or(Errno::ENOEXEC)?;
            if head.len() >= BINPRM_BUF_SIZE && !l[name..].iter().any(|b| blank(b) || *b == 0) {
                return Err(Errno::ENOEXEC);
            }
            cut
        }
    };
    // A NUL ends the line too (the strings are C strings).
    let end = line[..end].iter().position(|&b| b == 0).unwrap_or(end);
    let line = &line[..end];
    let start = line.iter().position(|b| !blank(b)).ok_or(Errno::ENOEXEC)?;
    let line = &line[start..];
    let name_end = line.iter().position(blank).unwrap_or(line.len());
    let (interp, rest) = line.split_at(name_end);
    let rest = match rest.iter().position(|b| !blank(b)) {
        Some(s) => {
            let r = &rest[s..];
            let e = r.iter().rposition(|b| !blank(b)).map_or(0, |e| e + 1);
            Some(&r[..e])
        }
        None => None,
    };
    Ok(Some((interp, rest)))
}

/// execve (Linux `do_execveat_common` → `bprm_execve` → `exec_binprm`): the strings are
/// measured first, then the file opened; a `#!` script is replaced by its interpreter
/// — with the interpreter, its argument and the script's path in front of the
/// arguments — up to MAX_SCRIPT_DEPTH times (then ELOOP).
pub fn do_execve(
    frame: &mut TrapFrame,
    filename: &[u8],
    argv: Strings,
    envp: Strings,
) -> KResult<()> {
    ExecArgs::new(filename, argv, envp)?;
    let mut prefix: Vec<Vec<u8>> = Vec::new();
    let mut path: Vec<u8> = Vec::new();
    path.try_reserve_exact(filename.len())
        .map_err(|_| Errno::ENOMEM)?;
    path.extend_from_slice(filename);
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let file = open_exec(&path)?;
        let mut head = [0u8; BINPRM_BUF_SIZE];
        let n = file.read_at(0, &mut head)?;
        let shebang = parse_shebang(&head[..n])?;
        let Some((interp, arg)) = shebang else {
            let script = Strings::Script {
                prefix: &prefix,
                rest: &argv,
                skip: if prefix.is_empty() { 0 } else { 1 },
            };
            let args = ExecArgs::new(filename, script, envp)?;
            return exec_file(frame, file, &args);
        };
        // The new argv: interpreter, its argument, this file's path, then what came
        // after the old argv[0].
        let mut next: Vec<Vec<u8>> = Vec::new();
        next.try_reserve(prefix.len() + 3)
            .map_err(|_| Errno::ENOMEM)?;
        for word in [Some(interp), arg, Some(&path[..])].into_iter().flatten() {
            let mut w = Vec::new();
            w.try_reserve_exact(word.len()).map_err(|_| Errno::ENOMEM)?;
            w.extend_from_slice(word);
            next.push(w);
        }
        next.extend(prefix.drain(..).skip(1));
        prefix = next;
        // The measure again, with the words the line added (E2BIG if they do not fit).
        let script = Strings::Script {
            prefix: &prefix,
            rest: &argv,
            skip: 1,
        };
        ExecArgs::new(filename, script, envp)?;
        path.clear();
        path.try_reserve(interp.len()).map_err(|_| Errno::ENOMEM)?;
        path.extend_from_slice(prefix[0].as_slice());
    }
    Err(Errno::ELOOP)
}

/// Linux `de_thread`: kills every other thread of the process and waits until they are
/// gone (and, when the caller is not the leader, until the leader is a zombie). EAGAIN
/// if the process is already exiting or another thread is exec'ing; if the caller is
/// killed while it waits, it returns and dies on its way out.
fn de_thread(cur: &CurrentTask) -> KResult<()> {
    let signal = cur.inner.lock().signal.clone();
    {
        let mut s = signal.inner.lock();
        if s.group_exit.is_some() || s.group_exec_task.is_some() {
            return Err(Errno::EAGAIN);
        }
        if s.live == 1 && cur.is_group_leader() {
            return Ok(()); // the usual case: a single thread
        }
        s.group_exec_task = Some(cur.tid);
    }
    let leader_dead = || {
        sched::find_task(cur.tgid)
            .is_none_or(|l| matches!(l.inner.lock().state, TaskState::Zombie | TaskState::Dead))
    };
    let result = loop {
        let seq = crate::sync::wait::prepare(WaitChan::GroupExec(cur.tgid));
        // Again each time: a thread busy in the kernel may have cloned another.
        exit::zap_other_threads(cur.tgid, cur.tid);
        let alone = signal.inner.lock().live == 1;
        if alone && (cur.is_group_leader() || leader_dead()) {
            break Ok(());
        }
        // Woken by each exiting thread, or a kill (Linux TASK_KILLABLE).
        if sched::sleep(WaitChan::GroupExec(cur.tgid), None, seq) == WakeReason::Killed {
            break Err(Errno::EAGAIN);
        }
    };
    signal.inner.lock().group_exec_task = None;
    result
}

/// Linux `unshare_files` + `do_close_on_exec`: a descriptor table shared with another
/// process becomes private, then close-on-exec descriptors are closed (each outside the
/// table's lock).
fn close_on_exec(cur: &CurrentTask) -> KResult<()> {
    let Some(files) = cur.inner.lock().files.clone() else {
        return Ok(());
    };
    // Held by the task and by `files` here: anything more is another process's share.
    let files = if Arc::strong_count(&files) > 2 {
        let copy = files.lock().try_clone()?;
        crate::fs::heap_precheck(size_of::<OrderedMutex<crate::fs::FdTable>>() + 16)?;
        let private = Arc::new(OrderedMutex::new(Level::Process, copy));
        cur.inner.lock().files = Some(private.clone());
        private
    } else {
        files
    };
    let mut from = 0;
    loop {
        let next = files.lock().take_cloexec(from);
        let Some((fd, file)) = next else {
            return Ok(());
        };
        drop(file);
        from = fd + 1;
    }
}

/// Runs the executable `exe` in the current process: builds it, then — past the point
/// of no return — de_thread, close-on-exec, the new address space and registers.
pub fn exec_file(frame: &mut TrapFrame, exe: Arc<File>, args: &ExecArgs) -> KResult<()> {
    // The new address space's bookkeeping (VMAs, the Mm) comes from the heap.
    crate::mm::heap::reserve(32 << 10)?;
    let (mm, entry, sp) = build_mm(&exe, args)?;
    // The task's name (comm): the last component of the name execve was given — not
    // of the file it led to: /bin/sh, a link to busybox, is "sh" (Linux `begin_new_exec`:
    // kbasename(bprm->filename)) — at most 15 bytes (TASK_COMM_LEN), lossily as text.
    let given = if args.filename.is_empty() {
        &exe.path[..]
    } else {
        args.filename
    };
    let base = given.rsplit(|&b| b == b'/').next().unwrap_or(given);
    let base = &base[..base.len().min(15)];
    let mut name = String::new();
    name.try_reserve_exact(base.len() * 3)
        .map_err(|_| Errno::ENOMEM)?;
    for chunk in base.utf8_chunks() {
        name.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            name.push('\u{fffd}');
        }
    }
    let cur = current();
    de_thread(&cur)?;
    // Point of no return: what fails from here kills the process (Linux: SIGSEGV).
    if let Err(e) = close_on_exec(&cur) {
        super::signal::force_sigsegv();
        return Err(e);
    }
    let signal = cur.inner.lock().signal.clone();
    signal.inner.lock().did_exec = true;
    crate::trace::sched_process_exec(given);
    crate::time::itimer::exit_itimers(cur.tgid, true); // POSIX timers go; itimers stay
    // Signals: caught ones back to SIG_DFL, no alternate stack; the mask and pending
    // signals stay (Linux `flush_signal_handlers`, `unshare_sighand`).
    {
        let mut inner = cur.inner.lock();
        inner.sighand = inner.sighand.take().map(exec_sighand);
        inner.sas = Default::default();
    }
    if !cur.is_group_leader() {
        become_leader(&cur, frame, mm, entry, sp, name);
        // This thread's part is over: it exits on its way back to user mode, once the
        // system call has returned and dropped what its frames hold.
        exit::kill_task(&cur.arc(), exit::killed_status(super::signal::SIGKILL));
        return Ok(());
    }
    arch::mmu::switch_ttbr0(mm.ttbr());
    let (old, vfork_parent) = {
        let mut inner = cur.inner.lock();
        inner.name = name;
        (inner.mm.replace(mm), inner.vfork_parent.take())
    };
    drop(old);
    if vfork_parent.is_some() {
        sched::wakeup(WaitChan::Vfork(cur.tid)); // exec releases a vfork parent
    }
    frame.start_thread(entry, sp);
    // SAFETY: the current task's own ThreadStruct, used only by this CPU.
    arch::fpsimd::fpsimd_flush_thread(unsafe { &mut *cur.thread_ptr() });
    Ok(())
}

/// A thread other than the leader exec'd (Linux `de_thread`'s `exchange_tids`): the
/// process keeps its pid, so the new program runs in the leader's task — a zombie by now
/// — which gets the address space, the files, fs and handlers, and registers that enter
/// the program through ret_from_fork; the calling thread is left with nothing and exits.
fn become_leader(
    cur: &CurrentTask,
    frame: &TrapFrame,
    mm: Arc<Mm>,
    entry: usize,
    sp: usize,
    name: String,
) {
    let leader = sched::find_task(cur.tgid).expect("a leader stays until its group is reaped");
    arch::mmu::switch_ttbr0(mm.ttbr());
    let (old_mm, files, fs, sighand, signal, vfork_parent) = {
        let mut inner = cur.inner.lock();
        inner.clear_child_tid = 0;
        (
            inner.mm.take(),
            inner.files.take(),
            inner.fs.take(),
            inner.sighand.take(),
            inner.signal.clone(),
            inner.vfork_parent.take(),
        )
    };
    drop(old_mm);
    if vfork_parent.is_some() {
        sched::wakeup(WaitChan::Vfork(cur.tid));
    }
    signal.inner.lock().live += 1; // the leader lives again; this thread leaves below
    {
        let mut l = leader.inner.lock();
        l.name = name;
        l.mm = Some(mm);
        l.files = files;
        l.fs = fs;
        l.sighand = sighand;
        l.sas = Default::default();
        l.killed = None;
        l.exit_status = 0;
        l.set_child_tid = 0;
        l.clear_child_tid = 0;
        l.vfork_parent = None;
        l.woke_by_timeout = false;
    }
    leader
        .kill_pending
        .store(false, core::sync::atomic::Ordering::Relaxed);
    if !cur.is_group_leader() {
        // The leader takes over this thread's mask and pending signals.
        let (blocked, pending) = {
            let mut inner = cur.inner.lock();
            (inner.blocked, core::mem::take(&mut inner.pending))
        };
        let mut l = leader.inner.lock();
        l.blocked = blocked;
        l.pending = pending;
    }
    let mut regs = *frame;
    regs.start_thread(entry, sp);
    // A zombie may still be switching away on another CPU, saving its registers into
    // the ThreadStruct we are about to fill: wait until it is off (task/sched.rs).
    while leader.on_cpu.load(core::sync::atomic::Ordering::Acquire) {
        crate::sync::ordered::cpu_relax();
    }
    // SAFETY: the leader is a zombie no CPU runs any more, and the scheduler does not
    // hold it, so its kernel stack and ThreadStruct are free to reuse; ours is the
    // running thread's.
    let started = unsafe {
        arch::copy_thread(
            &mut *leader.thread_ptr(),
            leader.kstack_top(),
            &mut *cur.thread_ptr(),
            &regs,
            0,
            None,
        )
    };
    if started.is_ok() {
        // SAFETY: as above; the new program starts with clean FP/SIMD registers.
        arch::fpsimd::fpsimd_flush_thread(unsafe { &mut *leader.thread_ptr() });
        // Our tid is gone before the new program can run (on another CPU, at once): as
        // Linux's exchange_tids, no one may find this thread afterwards (kill → ESRCH).
        sched::TASKS.lock().remove(&cur.tid);
        sched::wake_up_new_task(leader);
    } else {
        signal.inner.lock().live -= 1; // (a lab skeleton's copy_thread): the process ends
    }
}

/// execve's handler table (Linux `unshare_sighand` + `flush_signal_handlers`): caught
/// signals go back to SIG_DFL, ignored ones stay ignored; a table still shared with
/// another process (CLONE_SIGHAND without CLONE_THREAD) is copied first.
fn exec_sighand(
    sighand: Arc<crate::sync::ordered::OrderedMutex<super::signal::SigHand>>,
) -> Arc<crate::sync::ordered::OrderedMutex<super::signal::SigHand>> {
    let sighand = if Arc::strong_count(&sighand) > 1 {
        let copy = sighand.lock().clone();
        Arc::new(crate::sync::ordered::OrderedMutex::new(
            crate::sync::Level::Process,
            copy,
        ))
    } else {
        sighand
    };
    sighand.lock().flush_handlers();
    sighand
}
