//! Links every user program at 0x400000 with user.ld (a classic static executable).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=user.ld");
    if std::env::var("TARGET").unwrap_or_default() == "aarch64-unknown-none" {
        println!("cargo:rustc-link-arg-bins=-T{dir}/user.ld");
    }
}
