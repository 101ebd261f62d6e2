//! The initial user stack (Linux: fs/binfmt_elf.c `create_elf_tables`). At entry, sp
//! points at argc; the System V AArch64 ABI start-up code reads upwards from there:
//!
//! ```text
//!  high  STACK_TOP
//!        argv/envp strings, 16 random bytes (AT_RANDOM)
//!        padding to 16 bytes
//!        auxv: (type, value) pairs ... AT_NULL
//!        envp[0..n], NULL
//!        argv[0..n], NULL
//!  sp -> argc                                                   (16-byte aligned)
//! ```

use alloc::vec::Vec;

pub const AT_NULL: u64 = 0;
pub const AT_PHDR: u64 = 3;
pub const AT_PHENT: u64 = 4;
pub const AT_PHNUM: u64 = 5;
pub const AT_PAGESZ: u64 = 6;
pub const AT_ENTRY: u64 = 9;
pub const AT_UID: u64 = 11;
pub const AT_EUID: u64 = 12;
pub const AT_GID: u64 = 13;
pub const AT_EGID: u64 = 14;
pub const AT_HWCAP: u64 = 16;
pub const AT_CLKTCK: u64 = 17;
pub const AT_SECURE: u64 = 23;
pub const AT_RANDOM: u64 = 25;
pub const AT_EXECFN: u64 = 31;

/// Builds the bytes of the stack from the returned sp up to `stack_top`. `auxv` is the
/// auxiliary vector without AT_RANDOM, AT_EXECFN and AT_NULL, which are added here.
pub fn build(
    stack_top: usize,
    argv: &[&str],
    envp: &[&str],
    auxv: &[(u64, u64)],
    random: [u8; 16],
) -> (usize, Vec<u8>) {
    // Strings and random bytes at the top, in argv-then-envp order.
    let mut strings = Vec::new();
    let mut offsets = Vec::new();
    for s in argv.iter().chain(envp) {
        offsets.push(strings.len());
        strings.extend_from_slice(s.as_bytes());
        strings.push(0);
    }
    let random_offset = strings.len();
    strings.extend_from_slice(&random);
    let strings_base = (stack_top - strings.len()) & !15;

    let mut words: Vec<u64> = Vec::new();
    words.push(argv.len() as u64);
    let addr = |i: usize| (strings_base + offsets[i]) as u64;
    words.extend((0..argv.len()).map(addr));
    words.push(0);
    words.extend((argv.len()..argv.len() + envp.len()).map(addr));
    words.push(0);
    for &(k, v) in auxv {
        words.extend([k, v]);
    }
    words.extend([AT_RANDOM, (strings_base + random_offset) as u64]);
    if !argv.is_empty() {
        words.extend([AT_EXECFN, addr(0)]);
    }
    words.extend([AT_NULL, 0]);

    let sp = (strings_base - words.len() * 8) & !15;
    let mut image = alloc::vec![0u8; stack_top - sp];
    for (i, w) in words.iter().enumerate() {
        image[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    let s = strings_base - sp;
    image[s..s + strings.len()].copy_from_slice(&strings);
    (sp, image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(image: &[u8], sp: usize, addr: usize) -> u64 {
        let o = addr - sp;
        u64::from_le_bytes(image[o..o + 8].try_into().unwrap())
    }

    fn cstr(image: &[u8], sp: usize, addr: u64) -> &str {
        let o = addr as usize - sp;
        let end = image[o..].iter().position(|&b| b == 0).unwrap();
        core::str::from_utf8(&image[o..o + end]).unwrap()
    }

    #[test]
    fn layout_matches_linux() {
        let top = 0x1_0000;
        let (sp, img) = build(
            top,
            &["prog", "-v"],
            &["HOME=/"],
            &[(AT_PAGESZ, 4096)],
            [7; 16],
        );
        assert_eq!(sp % 16, 0);
        assert_eq!(sp + img.len(), top);
        assert_eq!(word(&img, sp, sp), 2, "argc");
        assert_eq!(cstr(&img, sp, word(&img, sp, sp + 8)), "prog");
        assert_eq!(cstr(&img, sp, word(&img, sp, sp + 16)), "-v");
        assert_eq!(word(&img, sp, sp + 24), 0);
        assert_eq!(cstr(&img, sp, word(&img, sp, sp + 32)), "HOME=/");
        assert_eq!(word(&img, sp, sp + 40), 0);
        let mut aux = std::vec::Vec::new();
        let mut at = sp + 48;
        loop {
            let (k, v) = (word(&img, sp, at), word(&img, sp, at + 8));
            aux.push((k, v));
            at += 16;
            if k == AT_NULL {
                break;
            }
        }
        assert_eq!(aux[0], (AT_PAGESZ, 4096));
        let random = aux.iter().find(|a| a.0 == AT_RANDOM).unwrap().1 as usize;
        assert_eq!(&img[random - sp..random - sp + 16], &[7; 16]);
        assert_eq!(
            cstr(&img, sp, aux.iter().find(|a| a.0 == AT_EXECFN).unwrap().1),
            "prog"
        );
    }
}
