//! System calls: the Linux AArch64 ABI (number in x8, arguments x0-x5, result or -errno
//! in x0). Numbers are from include/uapi/asm-generic/unistd.h.

pub mod errno;
