//! The test programs' shared reporting, included by each with
//! `#[macro_use] #[path = "../check.rs"] mod check;` (each program is its own crate).
//! The program names itself with `const T: &str`; a failed check prints
//! "T: FAILED line N: why" — the line the make test summary shows — and exits 1.

/// Prints the failure line and ends the program with status 1.
pub fn fail(why: String) -> ! {
    println!("{}: FAILED {why}", super::T);
    std::process::exit(1);
}

/// `check!(condition, "format", args...)`: fails with the source line and the message
/// unless the condition holds.
macro_rules! check {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::check::fail(format!("line {}: {}", line!(), format!($($arg)*)));
        }
    };
}
