//! Getting programs into memory: the initrd archive (cpio), static ELF executables, and
//! the initial user stack (argc/argv/envp/auxv) laid out as Linux does.

pub mod cpio;
pub mod elf;
pub mod stack;
