//! Tasks: creation (fork/clone), scheduling, exit and wait.

pub mod clone_flags;
