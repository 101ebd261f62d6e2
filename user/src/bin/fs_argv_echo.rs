//! A helper for fs_exec (not a test on its own): writes its argv to stdout, each string
//! followed by a NUL, then "\n", then where /proc/self/exe points, then "\n" — in one
//! write, so the reader sees exactly what execve (or a `#!` line) gave the program.
#![no_std]
#![no_main]

use ulib::*;

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    let mut out = [0u8; 2048];
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        let k = bytes.len().min(out.len() - n);
        out[n..n + k].copy_from_slice(&bytes[..k]);
        n += k;
    };
    for i in 0..args.argc {
        put(args.get(i).unwrap_or("<not UTF-8>").as_bytes());
        put(b"\0");
    }
    put(b"\n");
    let mut exe = [0u8; 512];
    let r = readlinkat(AT_FDCWD, c"/proc/self/exe", &mut exe);
    if r >= 0 {
        put(&exe[..r as usize]);
    } else {
        put(b"readlink failed");
    }
    put(b"\n");
    write(1, &out[..n]);
    0
}
