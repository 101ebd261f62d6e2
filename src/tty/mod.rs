//! Terminals (Linux drivers/tty/): the console tty on the PL011 UART, the one terminal
//! this kernel has. docs/tty.md draws the whole path.
//!
//! * `termios.rs` — the settings user space reads and writes (struct termios, winsize,
//!   the ioctl numbers); pure data.
//! * `n_tty.rs` — the line discipline: echo, editing, signal characters, the read
//!   buffer; pure logic with host tests (Linux n_tty.c).
//! * `tty_io.rs` — the terminal itself: its lock, the UART interrupt, read and write
//!   with job control, the ioctls, the controlling terminal of a session (Linux
//!   tty_io.c, tty_ioctl.c, tty_jobctrl.c). Kernel only.
//!
//! Where it sits: the tty builds on task/ (sessions, process groups, signals) and fs/
//! (the `Sink`/`Source` a read or write copies through). fs/ reaches the terminal's read
//! and write through hooks the tty installs at boot (fs/dev.rs `register_tty`), and
//! task/ will reach `disassociate_ctty` the same way, so no module cycle forms.

pub mod n_tty;
pub mod termios;
#[cfg(target_os = "none")]
mod tty_io;

#[cfg(target_os = "none")]
pub use tty_io::*;
