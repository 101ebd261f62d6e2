//! The initial user stack (Linux: fs/binfmt_elf.c `create_elf_tables`). At entry, sp
//! points at argc; the System V AArch64 ABI start-up code reads upwards from there:
//!
//! ```text
//!  high  STACK_TOP
//!        "aarch64" (AT_PLATFORM)
//!        16 random bytes (AT_RANDOM)
//!        the file name execve was given (AT_EXECFN)
//!        argv strings, then envp strings
//!        padding to 16 bytes
//!        auxv: (type, value) pairs ... AT_NULL
//!        envp[0..n], NULL
//!        argv[0..n], NULL
//!  sp -> argc                                                   (16-byte aligned)
//! ```
//!
//! `layout` places everything from the sizes alone; `build` then writes the stack piece
//! by piece through a `StackMem` (the new address space), copying each string straight
//! from its `StringSource` (user memory of the old program, or kernel strings) — no
//! kernel buffer as large as the arguments (up to 6 MiB) is ever needed.

use crate::error::{Errno, KResult};

pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
/// The dynamic loader's load address (0 for a static program).
pub const AT_BASE: u64 = 7;
pub const AT_FLAGS: u64 = 8;
pub const AT_ENTRY: u64 = 9;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
/// A string naming the CPU: "aarch64" (Linux arm64 `ELF_PLATFORM`).
pub const AT_PLATFORM: u64 = 15;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_RANDOM: u64 = 25;
pub const AT_HWCAP2: u64 = 26;
pub const AT_EXECFN: u64 = 31;
/// The vDSO's ELF header (Linux include/uapi/linux/auxvec.h, arm64's ARCH_DLINFO).
pub const AT_SYSINFO_EHDR: u64 = 33;
/// The smallest stack a signal frame fits on (arm64 `ARCH_DLINFO`).
pub const AT_MINSIGSTKSZ: u64 = 51;

/// AT_PLATFORM's string (Linux arm64 `ELF_PLATFORM`), placed above the random bytes.
pub const PLATFORM: &[u8] = b"aarch64";

/// The memory the stack is written into.
pub trait StackMem {
    fn write(&mut self, va: usize, bytes: &[u8]) -> KResult<()>;
}

/// argv or envp.
pub trait StringSource {
    fn count(&self) -> usize;
    /// Copies string `i` and its NUL to `va` in `mem`, using at most `room` bytes (E2BIG
    /// if it no longer fits: it changed since it was measured); returns the bytes used.
    fn copy_string(
        &mut self,
        i: usize,
        mem: &mut dyn StackMem,
        va: usize,
        room: usize,
    ) -> KResult<usize>;
}

/// Kernel strings (init's arguments).
impl StringSource for &[&str] {
    fn count(&self) -> usize {
        self.len()
    }
    fn copy_string(
        &mut self,
        i: usize,
        mem: &mut dyn StackMem,
        va: usize,
        room: usize,
    ) -> KResult<usize> {
        let s = self[i].as_bytes();
        if s.len() + 1 > room {
            return Err(Errno::E2BIG);
        }
        mem.write(va, s)?;
        mem.write(va + s.len(), &[0])?;
        Ok(s.len() + 1)
    }
}

/// Where each part of the stack goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub sp: usize,
    pub argc: usize,
    pub envc: usize,
    /// argv strings then envp strings: `strings_len` bytes, NULs included.
    pub strings_at: usize,
    pub strings_len: usize,
    pub execfn_at: usize,
    pub random_at: usize,
    pub platform_at: usize,
}

/// Words between sp and the strings: argc, argv + NULL, envp + NULL, and the auxv with
/// AT_RANDOM, AT_EXECFN and AT_NULL added.
fn words(argc: usize, envc: usize, nauxv: usize) -> usize {
    1 + argc + 1 + envc + 1 + 2 * (nauxv + 3)
}

/// Places a stack for `argc` + `envc` strings of `strings_len` bytes in all, an execfn of
/// `execfn_len` bytes (without its NUL) and `nauxv` auxv entries; None if it does not fit
/// below `stack_top` in `stack_size` bytes.
pub fn layout(
    stack_top: usize,
    stack_size: usize,
    argc: usize,
    envc: usize,
    strings_len: usize,
    execfn_len: usize,
    nauxv: usize,
) -> Option<Layout> {
    let blob = strings_len.checked_add(execfn_len + 1 + 16 + PLATFORM.len() + 1)?;
    let strings_at = stack_top.checked_sub(blob)? & !15;
    let sp = strings_at.checked_sub(words(argc, envc, nauxv).checked_mul(8)?)? & !15;
    (stack_top - sp <= stack_size).then_some(Layout {
        sp,
        argc,
        envc,
        strings_at,
        strings_len,
        execfn_at: strings_at + strings_len,
        random_at: strings_at + strings_len + execfn_len + 1,
        platform_at: strings_at + strings_len + execfn_len + 1 + 16,
    })
}

/// Consecutive words written in batches (pointers into the strings as they are placed).
struct Words<'a> {
    mem: &'a mut dyn StackMem,
    at: usize,
    buf: [u8; 256],
    n: usize,
}

impl Words<'_> {
    fn push(&mut self, w: u64) -> KResult<()> {
        self.buf[self.n..self.n + 8].copy_from_slice(&w.to_le_bytes());
        self.n += 8;
        if self.n == self.buf.len() {
            self.flush()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> KResult<()> {
        self.mem.write(self.at, &self.buf[..self.n])?;
        self.at += self.n;
        self.n = 0;
        Ok(())
    }
}

/// Writes the whole stack of `l` into `mem`. `auxv` is the auxiliary vector without
/// AT_RANDOM, AT_EXECFN and AT_NULL, which are added here (last, in that order:
/// /proc/PID/cmdline finds the strings by them); an AT_PLATFORM entry's value becomes
/// the address of the PLATFORM string.
pub fn build(
    mem: &mut dyn StackMem,
    l: &Layout,
    argv: &mut dyn StringSource,
    envp: &mut dyn StringSource,
    execfn: &[u8],
    auxv: &[(u64, u64)],
    random: [u8; 16],
) -> KResult<()> {
    mem.write(l.sp, &(l.argc as u64).to_le_bytes())?;
    mem.write(l.execfn_at, execfn)?;
    mem.write(l.execfn_at + execfn.len(), &[0])?;
    mem.write(l.random_at, &random)?;
    mem.write(l.platform_at, PLATFORM)?;
    mem.write(l.platform_at + PLATFORM.len(), &[0])?;
    // Strings are placed one after the other; each one's address goes into the argv or
    // envp array as soon as it is known.
    let end = l.strings_at + l.strings_len;
    let mut va = l.strings_at;
    let mut strings = Words {
        mem,
        at: l.sp + 8,
        buf: [0; 256],
        n: 0,
    };
    let lists: [(&mut dyn StringSource, usize); 2] = [(argv, l.argc), (envp, l.envc)];
    for (list, n) in lists {
        for i in 0..n {
            let len = list.copy_string(i, &mut *strings.mem, va, end - va)?;
            strings.push(va as u64)?;
            va += len;
        }
        strings.push(0)?;
    }
    for &(k, v) in auxv {
        let v = if k == AT_PLATFORM {
            l.platform_at as u64
        } else {
            v
        };
        strings.push(k)?;
        strings.push(v)?;
    }
    for w in [
        AT_RANDOM,
        l.random_at as u64,
        AT_EXECFN,
        l.execfn_at as u64,
        AT_NULL,
        0,
    ] {
        strings.push(w)?;
    }
    strings.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// A stack image in a host buffer: `base` is its lowest address.
    struct Image {
        base: usize,
        bytes: Vec<u8>,
    }

    impl StackMem for Image {
        fn write(&mut self, va: usize, bytes: &[u8]) -> KResult<()> {
            let o = va.checked_sub(self.base).ok_or(Errno::EFAULT)?;
            self.bytes
                .get_mut(o..o + bytes.len())
                .ok_or(Errno::EFAULT)?
                .copy_from_slice(bytes);
            Ok(())
        }
    }

    impl Image {
        fn word(&self, addr: usize) -> u64 {
            let o = addr - self.base;
            u64::from_le_bytes(self.bytes[o..o + 8].try_into().unwrap())
        }
        fn cstr(&self, addr: u64) -> &str {
            let o = addr as usize - self.base;
            let end = self.bytes[o..].iter().position(|&b| b == 0).unwrap();
            core::str::from_utf8(&self.bytes[o..o + end]).unwrap()
        }
    }

    fn strings_len(list: &[&str]) -> usize {
        list.iter().map(|s| s.len() + 1).sum()
    }

    #[test]
    fn layout_matches_linux() {
        let top = 0x10_0000;
        let argv: &[&str] = &["prog", "-v"];
        let envp: &[&str] = &["HOME=/"];
        let len = strings_len(argv) + strings_len(envp);
        let l = layout(top, 0x1_0000, 2, 1, len, 9, 2).unwrap();
        let mut img = Image {
            base: top - 0x1_0000,
            bytes: std::vec![0; 0x1_0000],
        };
        let (mut a, mut e) = (argv, envp);
        build(
            &mut img,
            &l,
            &mut a,
            &mut e,
            b"/bin/prog",
            &[(AT_PAGESZ, 4096), (AT_PLATFORM, 0)],
            [7; 16],
        )
        .unwrap();
        let sp = l.sp;
        assert_eq!(sp % 16, 0);
        assert_eq!(img.word(sp), 2, "argc");
        assert_eq!(img.cstr(img.word(sp + 8)), "prog");
        assert_eq!(img.cstr(img.word(sp + 16)), "-v");
        assert_eq!(img.word(sp + 24), 0);
        assert_eq!(img.cstr(img.word(sp + 32)), "HOME=/");
        assert_eq!(img.word(sp + 40), 0);
        let mut aux = Vec::new();
        let mut at = sp + 48;
        loop {
            let (k, v) = (img.word(at), img.word(at + 8));
            aux.push((k, v));
            at += 16;
            if k == AT_NULL {
                break;
            }
        }
        assert!(at <= l.strings_at, "the words end below the strings");
        assert_eq!(aux[0], (AT_PAGESZ, 4096));
        assert_eq!(aux[1], (AT_PLATFORM, l.platform_at as u64), "filled in");
        let random = aux.iter().find(|a| a.0 == AT_RANDOM).unwrap().1 as usize;
        assert_eq!(
            &img.bytes[random - img.base..random - img.base + 16],
            &[7; 16]
        );
        let execfn = aux.iter().find(|a| a.0 == AT_EXECFN).unwrap().1;
        assert_eq!(img.cstr(execfn), "/bin/prog");
        assert!(random + 16 <= l.platform_at);
        assert_eq!(img.cstr(l.platform_at as u64), "aarch64");
        assert!(l.platform_at + PLATFORM.len() < top);
    }

    #[test]
    fn many_strings_and_limits() {
        let top = 0x100_0000;
        let args: Vec<&str> = (0..1000).map(|_| "").collect();
        let l = layout(top, 1 << 20, 1000, 0, 1000, 1, 0).unwrap();
        let mut img = Image {
            base: top - (1 << 20),
            bytes: std::vec![0; 1 << 20],
        };
        let (mut a, mut e): (&[&str], &[&str]) = (&args, &[]);
        build(&mut img, &l, &mut a, &mut e, b"x", &[], [0; 16]).unwrap();
        assert_eq!(img.word(l.sp), 1000);
        assert_eq!(img.cstr(img.word(l.sp + 8 * 1000)), "");
        assert_eq!(img.word(l.sp + 8 * 1001), 0, "argv's NULL");
        // A string longer than measured does not fit its room.
        let l = layout(top, 1 << 20, 1, 0, 2, 1, 0).unwrap();
        let (mut a, mut e): (&[&str], &[&str]) = (&["abc"], &[]);
        assert_eq!(
            build(&mut img, &l, &mut a, &mut e, b"x", &[], [0; 16]),
            Err(Errno::E2BIG)
        );
        assert_eq!(
            layout(top, 4096, 0, 0, 8192, 1, 0),
            None,
            "larger than the stack"
        );
        assert_eq!(
            layout(16, 1 << 20, 0, 0, 100, 1, 0),
            None,
            "below address 0"
        );
    }
}
