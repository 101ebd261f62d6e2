//! Links the kernel binary with linker.ld when building for the bare-metal target, and
//! builds the vDSO image the kernel embeds (arch/aarch64/vdso/, docs/vdso.md).
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rerun-if-changed=linker.ld");
    println!("cargo:rerun-if-changed=arch/aarch64");
    println!("cargo:rerun-if-changed=src/vdso/vvar.rs");
    // Unoptimised code (opt-level 0: PROFILE=dev, the build to step through in gdb) keeps
    // every local in its own stack slot, and generic code (core's sort, the ELF parser,
    // ChaCha's block function, instantiated here) is unoptimised too: the exec path alone
    // needs more than 32 KiB. Such builds get 64 KiB stacks (THREAD_SHIFT 16; Linux arm64
    // doubles THREAD_SIZE under KASAN for the same reason); arch/aarch64/memory.rs and
    // linker.ld follow this one switch.
    // (The host fake of the unit tests keeps 16 KiB: no kernel code runs on its stacks.)
    let unoptimised = std::env::var("OPT_LEVEL").as_deref() == Ok("0")
        && target.starts_with("aarch64-unknown-none");
    println!("cargo::rustc-check-cfg=cfg(big_kernel_stacks)");
    if unoptimised {
        println!("cargo::rustc-cfg=big_kernel_stacks");
    }
    if target.starts_with("aarch64-unknown-none") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        println!("cargo:rustc-link-arg-bins=-T{dir}/linker.ld");
        let thread_size = if unoptimised { 0x10000 } else { 0x4000 };
        println!("cargo:rustc-link-arg-bins=--defsym=__thread_size={thread_size:#x}");
        let vdso = build_vdso(Path::new(&dir));
        println!("cargo:rustc-env=TEACHOS_VDSO={}", vdso.display());
    }
}

/// Compiles arch/aarch64/vdso/vdso.rs on its own into a position-independent object with
/// the same rustc (soft-float: the vDSO must not touch the program's FP/SIMD registers),
/// then links it with rust-lld into a shared object laid out by vdso.lds. No assembler or
/// linker beyond what the Rust toolchain ships is needed.
fn build_vdso(dir: &Path) -> PathBuf {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let src = dir.join("arch/aarch64/vdso");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let (obj, so) = (out.join("vdso.o"), out.join("vdso.so"));
    run(Command::new(&rustc)
        .args(["--edition=2024", "--crate-type=lib", "--crate-name=vdso"])
        .args(["--target=aarch64-unknown-none-softfloat", "-Copt-level=2"])
        .args(["-Cpanic=abort", "-Crelocation-model=pic", "-Cdebuginfo=0"])
        .arg(format!("--emit=obj={}", obj.display()))
        .arg(src.join("vdso.rs")));
    let sysroot = String::from_utf8(
        Command::new(&rustc)
            .args(["--print", "sysroot"])
            .output()
            .expect("rustc --print sysroot")
            .stdout,
    )
    .unwrap();
    let host = std::env::var("HOST").unwrap();
    let lld = Path::new(sysroot.trim()).join(format!("lib/rustlib/{host}/bin/rust-lld"));
    run(Command::new(lld)
        .args(["-flavor", "gnu", "-shared", "--soname=linux-vdso.so.1"])
        // Both hash tables: glibc reads either, musl's lookup wants DT_HASH.
        .args(["--hash-style=both", "--eh-frame-hdr", "--no-undefined"])
        .args(["-z", "max-page-size=4096", "--strip-all"])
        .arg(format!("-T{}", src.join("vdso.lds").display()))
        .arg("-o")
        .arg(&so)
        .arg(&obj));
    so
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed");
}
