//! Getting programs into memory: static ELF executables read from their file, and the
//! initial user stack (argc/argv/envp/auxv) laid out as Linux does.

pub mod elf;
pub mod stack;
