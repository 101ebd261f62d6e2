//! /proc (Linux fs/proc/): files that describe processes and the kernel, made when they
//! are looked up and formatted from the live state of tasks, memory and the file system
//! at each read. The file layer's side is fs/procfs.rs (trait `ProcNode`); this module
//! registers /proc's root there at boot.
//!
//! ```text
//!  root.rs     /proc itself: self, thread-self, mounts (links), the system-wide files, a
//!              directory per process
//!  pid.rs      /proc/PID and /proc/PID/task/TID: stat, status, cmdline, comm, statm,
//!              mounts, exe, cwd, root, fd/
//!  maps.rs     /proc/PID/maps
//!  cmdline.rs  finding a process's argv in its memory (for cmdline)
//!  kernel.rs   meminfo, cpuinfo, stat, uptime, loadavg, filesystems, mounts: the values
//!  trace.rs    /proc/trace: the trace ring buffer's text, and its on/off switch
//!  node.rs     what every node shares: inode numbers, making an inode, formatting a read
//!  format.rs   the text of every file, from plain values (unit-tested on the host)
//! ```
//!
//! Only format.rs builds for the host; the rest needs the kernel's tasks.

pub mod format;

#[cfg(target_os = "none")]
mod cmdline;
#[cfg(target_os = "none")]
mod kernel;
#[cfg(target_os = "none")]
mod maps;
#[cfg(target_os = "none")]
mod node;
#[cfg(target_os = "none")]
mod pid;
#[cfg(target_os = "none")]
mod root;
#[cfg(target_os = "none")]
mod trace;

#[cfg(target_os = "none")]
pub use root::init;
