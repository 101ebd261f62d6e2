//! The console: one UART shared by two writers — the kernel (`print!`/`println!` and the
//! `log` backend; the level is INFO until the command line's `log=` is read at boot,
//! trace/mod.rs, which `make run LOG=debug` passes) and the terminal (tty/), which sends
//! what programs write and the echo of what is typed. It also hands received bytes to
//! the tty's interrupt handler. (Linux keeps the two apart the same way: printk goes to
//! the console driver's `write`, the tty through its own path, and
//! kernel/printk/printk.c starts a message on a fresh line when the previous one was
//! left unfinished, `LOG_NEWLINE`/`LOG_CONT`.)
//!
//! # Kernel lines never split a program's line
//!
//! Each write goes out whole under the console lock: a kernel `println!` (all of it,
//! not piece by piece) and each block a program writes. The console remembers who left
//! a line unfinished (no '\n' yet). When the *other* writer comes next, it first ends
//! that line, so a kernel message never lands in the middle of a user's line (or the
//! reverse); the user's next bytes simply continue on a fresh line:
//!
//! ```text
//!   user:   "$ ls"          (a prompt and the typed echo, no newline yet)
//!   kernel: "[12.345] INFO something happened\n"
//!   on the wire:  "$ ls\r\n[12.345] INFO something happened\r\n"
//! ```
//!
//! Holding the kernel's message until the user's line ends was the other choice; it
//! was rejected because a prompt waits for input indefinitely with its line open, and a
//! held warning (or a panic report) could then never appear.
//!
//! The tty does its own output processing ('\n' → "\r\n" with OPOST|ONLCR), so its bytes
//! go out as they are; the kernel's '\n' always becomes "\r\n".

use core::fmt::{self, Write};

use spin::Mutex;

use crate::drivers::pl011::Pl011;

/// Who wrote to the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writer {
    Kernel,
    /// The terminal: programs' output and the echo of their input.
    Tty,
}

struct Console {
    uart: Option<Pl011>,
    /// Who left the current line unfinished, if anyone.
    open_line: Option<Writer>,
}

impl Console {
    fn write(&mut self, who: Writer, bytes: &[u8]) {
        let Some(uart) = &self.uart else { return };
        let Some(&last) = bytes.last() else { return };
        if self.open_line.is_some_and(|w| w != who) {
            uart.write_bytes(b"\r\n");
        }
        match who {
            Writer::Tty => uart.write_bytes(bytes),
            Writer::Kernel => {
                for &b in bytes {
                    if b == b'\n' {
                        uart.putc(b'\r');
                    }
                    uart.putc(b);
                }
            }
        }
        self.open_line = (last != b'\n').then_some(who);
    }
}

/// The UART and the line state (level 10 of the lock order, sync/mod.rs). A plain spin
/// lock: the panic path must be able to force it open. The UART interrupt (tty/) takes
/// it too; that is safe because IRQs are masked whenever the kernel runs (it is never
/// held by the code an interrupt interrupts).
static CONSOLE: Mutex<Console> = Mutex::new(Console {
    uart: None,
    open_line: None,
});

pub fn init(uart: Pl011) {
    CONSOLE.lock().uart = Some(uart);
    log::set_logger(&LOGGER).ok();
    // Until the command line is read (trace::init): no rebuild changes the level.
    log::set_max_level(log::LevelFilter::Info);
}

/// Kernel output ('\n' becomes "\r\n").
pub fn write_bytes(bytes: &[u8]) {
    CONSOLE.lock().write(Writer::Kernel, bytes);
}

/// The terminal's output, already processed by the line discipline.
pub fn write_tty(bytes: &[u8]) {
    CONSOLE.lock().write(Writer::Tty, bytes);
}

/// Turns on the UART's receive interrupt (tty/ at boot).
pub fn enable_input_interrupt() {
    if let Some(uart) = CONSOLE.lock().uart.as_ref() {
        uart.enable_rx_interrupt();
    }
}

/// The UART interrupt: moves up to `buf.len()` received bytes into `buf`; when the
/// receive FIFO is empty, clears the interrupt. Returns how many bytes it took.
pub fn read_input(buf: &mut [u8]) -> usize {
    let console = CONSOLE.lock();
    let Some(uart) = console.uart.as_ref() else {
        return 0;
    };
    let mut n = 0;
    while n < buf.len() {
        match uart.try_getc() {
            Some(c) => {
                buf[n] = c;
                n += 1;
            }
            None => {
                uart.clear_rx_interrupt();
                break;
            }
        }
    }
    n
}

/// Lets a panic print even if it interrupted a print.
pub fn force_unlock() {
    if CONSOLE.is_locked() {
        // SAFETY: only called on the panic path, on the single CPU, after which the
        // interrupted holder never runs again.
        unsafe { CONSOLE.force_unlock() };
    }
}

/// Formats into the console while holding it, so one `println!` goes out whole.
struct KernelWriter<'a>(&'a mut Console);

impl Write for KernelWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write(Writer::Kernel, s.as_bytes());
        Ok(())
    }
}

/// `print!`: the arguments are formatted with the console held (a `Display` impl used
/// in a kernel message must therefore not print).
pub fn print_fmt(args: fmt::Arguments) {
    let mut console = CONSOLE.lock();
    let _ = KernelWriter(&mut console).write_fmt(args);
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::console::print_fmt(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::console::print_fmt(format_args!("{}\n", format_args!($($arg)*))));
}

struct Logger;
static LOGGER: Logger = Logger;

impl log::Log for Logger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            let ms = crate::arch::timer::now_ns() / 1_000_000;
            crate::println!(
                "[{:>4}.{:03}] {:<5} {}",
                ms / 1000,
                ms % 1000,
                r.level(),
                r.args()
            );
        }
    }
    fn flush(&self) {}
}
