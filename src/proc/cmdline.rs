//! /proc/PID/cmdline (Linux fs/proc/base.c `get_mm_cmdline`): the process's argument
//! strings, each with its NUL, read from its memory as they are now (a program that
//! rewrites its argv in place shows the new text, as on Linux).
//!
//! Linux knows where they are because execve records it (`mm->arg_start`, `arg_end`).
//! This kernel's `Mm` does not record it (yet), so it is found again from the layout
//! loader/stack.rs gives the initial stack:
//!
//! ```text
//!   sp ─► argc │ argv[0..argc] NULL │ envp[0..envc] NULL │ auxv ... (AT_RANDOM, r)
//!         (AT_EXECFN, e) (AT_NULL, 0) │ < 16 bytes │ strings_at: argv strings, envp
//!         strings │ e: execve's file name │ r: 16 random bytes │ ... STACK_TOP
//! ```
//!
//! 1. Down from STACK_TOP, the first place holding the auxv's last three pairs, with
//!    `e` and `r` pointing above it in the right order, ends the auxv; the strings start
//!    at the next 16-byte boundary and end at `e`.
//! 2. Their NULs count the strings: argc + envc. The auxv's start (its keys are small
//!    non-zero numbers, which no pointer and no NULL is) less those words and the three
//!    around them is sp, where argc is.
//! 3. The arguments are the first argc strings.
//!
//! If anything does not fit (a program that overwrote its stack's top), cmdline is
//! empty, which ps shows as "[name]".

use alloc::vec::Vec;

use super::format::Window;
use crate::error::{Errno, KResult};
use crate::loader::stack::{AT_EXECFN, AT_NULL, AT_RANDOM};
use crate::mm::addr_space::{STACK_SIZE, STACK_TOP};
use crate::mm::global::Mm;

/// How much of the stack is read at a time (under the address space's lock).
const CHUNK: usize = 4096;
/// The auxv's last three pairs: AT_RANDOM, AT_EXECFN, AT_NULL.
const TAIL: usize = 6 * 8;

/// Reads `buf.len()` bytes of the address space at `va`; None where nothing is mapped.
fn read(mm: &Mm, va: usize, buf: &mut [u8]) -> Option<()> {
    mm.with(|space, _| space.read_bytes(va, buf)).ok()
}

fn word(mm: &Mm, va: usize) -> Option<u64> {
    let mut b = [0u8; 8];
    read(mm, va, &mut b)?;
    Some(u64::from_le_bytes(b))
}

fn word_at(buf: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(buf[i..i + 8].try_into().unwrap())
}

/// Step 1: the end of the auxv and where execve's file name is (`e`).
fn find_auxv_tail(mm: &Mm, buf: &mut [u8]) -> Option<(usize, usize)> {
    let bottom = STACK_TOP - STACK_SIZE;
    let mut hi = STACK_TOP;
    while hi > bottom {
        let lo = hi.saturating_sub(CHUNK).max(bottom);
        // Read past `hi` by a tail's length, so a tail starting just below `hi` is whole.
        let end = (hi + TAIL - 8).min(STACK_TOP);
        let bytes = &mut buf[..end - lo];
        read(mm, lo, bytes)?;
        for p in (lo..hi).step_by(8).rev() {
            if p + TAIL > end {
                continue;
            }
            let w = |k: usize| word_at(bytes, p - lo + 8 * k);
            let (r, e) = (w(1) as usize, w(3) as usize);
            if w(0) == AT_RANDOM
                && w(2) == AT_EXECFN
                && w(4) == AT_NULL
                && w(5) == 0
                && p + TAIL <= e
                && e < r
                && r + 16 <= STACK_TOP
            {
                return Some((p + TAIL, e));
            }
        }
        hi = lo;
    }
    None
}

/// Calls `f` with the bytes of [start, end), a chunk at a time; stops when it returns
/// false.
fn for_chunks(
    mm: &Mm,
    buf: &mut [u8],
    start: usize,
    end: usize,
    mut f: impl FnMut(usize, &[u8]) -> bool,
) -> Option<()> {
    let mut at = start;
    while at < end {
        let n = (end - at).min(CHUNK);
        read(mm, at, &mut buf[..n])?;
        if !f(at, &buf[..n]) {
            break;
        }
        at += n;
    }
    Some(())
}

/// Steps 2 and 3: where the argument strings are, [start, end).
fn find_args(mm: &Mm, buf: &mut [u8]) -> Option<(usize, usize)> {
    let (auxv_end, execfn) = find_auxv_tail(mm, buf)?;
    let strings = auxv_end.next_multiple_of(16);
    if strings > execfn {
        return None;
    }
    let mut count = 0usize;
    for_chunks(mm, buf, strings, execfn, |_, b| {
        count += b.iter().filter(|&&c| c == 0).count();
        true
    })?;
    // The auxv's start: back over its (key, value) pairs from its tail.
    let mut auxv = auxv_end - TAIL;
    while auxv >= 16 && matches!(word(mm, auxv - 16)?, 1..=64) {
        auxv -= 16;
    }
    let sp = auxv.checked_sub(8 * (count + 3))?;
    let argc = word(mm, sp)? as usize;
    if argc == 0 || argc > count || word(mm, sp + 8 * (argc + 1))? != 0 || word(mm, auxv - 8)? != 0
    {
        return None;
    }
    // The end of the argc-th string.
    let mut seen = 0;
    let mut end = None;
    for_chunks(mm, buf, strings, execfn, |at, b| {
        for (i, &c) in b.iter().enumerate() {
            if c == 0 {
                seen += 1;
                if seen == argc {
                    end = Some(at + i + 1);
                    return false;
                }
            }
        }
        true
    })?;
    Some((strings, end?))
}

/// Writes the process's argument strings into `w`.
pub fn read_cmdline(mm: &Mm, w: &mut Window) -> KResult<()> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(CHUNK + TAIL)
        .map_err(|_| Errno::ENOMEM)?;
    buf.resize(CHUNK + TAIL, 0);
    let Some((start, end)) = find_args(mm, &mut buf) else {
        return Ok(());
    };
    for_chunks(mm, &mut buf, start, end, |_, b| w.put(b).is_ok());
    Ok(())
}
