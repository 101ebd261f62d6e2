//! tsh_script: runs a script through /bin/tsh, the project's shell, and checks its output
//! and exit status: quoting, `|` pipelines, `<` `>` `>>` into /tmp, `;`, `$?`, a
//! background job that runs while the script goes on, `wait`, `cd`, a missing program,
//! `tsh -c`, and syntax errors. The commands the script runs are this program itself
//! (`tsh_script emit ...`, like a busybox applet), so the test needs nothing but tsh.
//! On Linux: linux-oracle.sh --overlay DIR with DIR/bin/tsh and DIR/bin/tsh_script.
#![no_std]
#![no_main]

use core::ffi::CStr;
use ulib::*;

const NAME: &str = "tsh_script";

/// The script, and what it must print (stdout and stderr together).
const SCRIPT: &[u8] = br#"# a comment line
/bin/tsh_script emit 'one two' "three  four" | /bin/tsh_script upper > /tmp/tsh_script/out
/bin/tsh_script emit appended >> /tmp/tsh_script/out
/bin/tsh_script upper < /tmp/tsh_script/out
/bin/tsh_script status 7; /bin/tsh_script emit "after 7: $?"
/bin/tsh_script status 3 | /bin/tsh_script status 4
/bin/tsh_script emit "pipeline: $?" escaped\ space 'it''s' "a \"quote\"" # a comment
/bin/tsh_script waitfor /tmp/tsh_script/go /tmp/tsh_script/bg &
/bin/tsh_script absent /tmp/tsh_script/bg
/bin/tsh_script emit "background job still waiting: $?"
/bin/tsh_script touch /tmp/tsh_script/go
wait
/bin/tsh_script upper < /tmp/tsh_script/bg
/bin/no_such_program
/bin/tsh_script emit "not found: $?"
cd /tmp/tsh_script
/bin/tsh_script emit relative>rel;/bin/tsh_script upper <rel
/bin/tsh_script status 5
"#;
const WANT: &[u8] = b"ONE TWO,THREE  FOUR
APPENDED
after 7: 7
pipeline: 4,escaped space,its,a \"quote\"
background job still waiting: 0
BACKGROUND JOB DONE
tsh: /bin/no_such_program: not found
not found: 127
RELATIVE
";
/// The script's last command exits 5.
const WANT_STATUS: i32 = 5;

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    match args.get(1) {
        Some(cmd) => applet(cmd, &args),
        None => test(),
    }
}

/// The script's commands.
fn applet(cmd: &str, args: &Args) -> i32 {
    let arg = |i| args.get(i).unwrap_or("");
    let mut path = PathBuf::new(arg(2).as_bytes());
    match cmd {
        // Its arguments, joined by commas.
        "emit" => {
            for i in 2..args.argc {
                print!("{}{}", if i > 2 { "," } else { "" }, arg(i));
            }
            println!();
            0
        }
        // stdin to stdout in upper case.
        "upper" => {
            let mut buf = [0u8; 512];
            loop {
                let n = read(0, &mut buf);
                if n <= 0 {
                    return (n < 0) as i32;
                }
                let data = &mut buf[..n as usize];
                data.make_ascii_uppercase();
                write(1, data);
            }
        }
        "status" => parse_num(arg(2)).unwrap_or(100) as i32,
        "touch" => (write_file(path.as_cstr(), b"") < 0) as i32,
        "absent" => (stat(path.as_cstr()).is_ok()) as i32,
        // Waits (10 s at most) for file arg(2), then writes arg(3).
        "waitfor" => {
            let deadline = clock_ns() + 10_000_000_000;
            while stat(path.as_cstr()).is_err() {
                if clock_ns() > deadline {
                    return 1;
                }
                nanosleep_ns(5_000_000);
            }
            path.clear().push(arg(3).as_bytes());
            (write_file(path.as_cstr(), b"background job done\n") < 0) as i32
        }
        _ => 100,
    }
}

fn test() -> i32 {
    mkdir(c"/tmp/tsh_script", 0o755);
    check!(
        NAME,
        write_file(c"/tmp/tsh_script/script", SCRIPT) > 0,
        "cannot write the script"
    );

    let (status, out, n) = run_tsh(&[c"tsh", c"/tmp/tsh_script/script"]);
    let got = &out[..n];
    check!(
        NAME,
        got == WANT,
        "the script printed\n{}\ninstead of\n{}",
        core::str::from_utf8(got).unwrap_or("(not UTF-8)"),
        core::str::from_utf8(WANT).unwrap_or("")
    );
    check!(
        NAME,
        status == WANT_STATUS << 8,
        "tsh exited with status {:#x}, not {}",
        status,
        WANT_STATUS
    );

    // -c, and exit's argument.
    let (status, _, n) = run_tsh(&[c"tsh", c"-c", c"exit 9; /bin/tsh_script emit no"]);
    check!(
        NAME,
        status == 9 << 8 && n == 0,
        "tsh -c 'exit 9; ...': status {:#x}, {} bytes out",
        status,
        n
    );
    // A line that is not well formed runs nothing and sets status 2.
    for bad in [
        c"/bin/tsh_script emit 'unterminated",
        c"/bin/tsh_script emit x | | /bin/tsh_script upper",
        c"/bin/tsh_script emit x >",
        c"/bin/tsh_script emit x; ; /bin/tsh_script emit y",
    ] {
        let (status, out, n) = run_tsh(&[c"tsh", c"-c", bad]);
        check!(
            NAME,
            status == 2 << 8 && out.starts_with(b"tsh: ") && !out[..n].starts_with(b"x\n"),
            "tsh -c {:?}: status {:#x}, output {:?}",
            bad,
            status,
            core::str::from_utf8(&out[..n])
        );
    }

    for f in [c"out", c"bg", c"go", c"rel", c"script"] {
        let mut path = PathBuf::new(b"/tmp/tsh_script/");
        path.push(f.to_bytes());
        check!(
            NAME,
            unlink(path.as_cstr()) == 0,
            "{:?} is missing",
            path.as_cstr()
        );
    }
    remove_test_dir(NAME, c"/tmp/tsh_script");
    println!("{}: ok", NAME);
    0
}

/// Runs /bin/tsh with `argv`, its stdout and stderr into a pipe; returns its wait status
/// and what it wrote.
fn run_tsh(argv: &[&CStr]) -> (i32, [u8; 2048], usize) {
    let [r, w] = pipe2(O_CLOEXEC).unwrap_or_else(|e| fail!(NAME, "pipe2: {}", e));
    let pid = fork();
    if pid == 0 {
        dup3(w, 1, 0);
        dup3(w, 2, 0);
        let mut ptrs = [core::ptr::null(); 8];
        for (p, a) in ptrs.iter_mut().zip(argv) {
            *p = a.as_ptr();
        }
        execve_slices(c"/bin/tsh".as_ptr(), &ptrs, &[core::ptr::null()]);
        exit_group(126);
    }
    close(w);
    let mut out = [0u8; 2048];
    let mut n = 0;
    while n < out.len() {
        let got = read(r, &mut out[n..]);
        if got <= 0 {
            break;
        }
        n += got as usize;
    }
    close(r);
    let (_, status) = wait4(pid, 0);
    (status, out, n)
}
