//! The console: `print!`/`println!` on the PL011, and the `log` backend. The log level is
//! chosen at build time (`make run LOG=debug` sets KERNEL_LOG).

use core::fmt::{self, Write};

use spin::Mutex;

use crate::drivers::pl011::Pl011;

static CONSOLE: Mutex<Option<Pl011>> = Mutex::new(None);

pub fn init(uart: Pl011) {
    *CONSOLE.lock() = Some(uart);
    log::set_logger(&LOGGER).ok();
    log::set_max_level(level());
}

fn level() -> log::LevelFilter {
    match option_env!("KERNEL_LOG") {
        Some("trace") => log::LevelFilter::Trace,
        Some("debug") => log::LevelFilter::Debug,
        Some("warn") => log::LevelFilter::Warn,
        Some("error") => log::LevelFilter::Error,
        Some("off") => log::LevelFilter::Off,
        _ => log::LevelFilter::Info,
    }
}

pub fn write_bytes(bytes: &[u8]) {
    if let Some(uart) = CONSOLE.lock().as_ref() {
        uart.write_bytes(bytes);
    }
}

pub fn try_getc() -> Option<u8> {
    CONSOLE.lock().as_ref().and_then(|u| u.try_getc())
}

/// Lets a panic print even if it interrupted a print.
pub fn force_unlock() {
    if CONSOLE.is_locked() {
        // SAFETY: only called on the panic path, on the single CPU, after which the
        // interrupted holder never runs again.
        unsafe { CONSOLE.force_unlock() };
    }
}

struct ConsoleWriter;

impl Write for ConsoleWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

pub fn print_fmt(args: fmt::Arguments) {
    let _ = ConsoleWriter.write_fmt(args);
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
