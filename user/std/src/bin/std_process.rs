//! std::process and std::env on this kernel: the program runs itself
//! (std::env::current_exe) as a child in several roles, chosen by its first argument:
//! - `upper`: stdin to upper case on stdout, a line on stderr, exit 3 — spawned with all
//!   three piped; the parent writes 64 KiB (more than a pipe holds, so both sides block in
//!   turn) and checks the output, stderr and the exit status;
//! - `panic`: panics with a message; the status is 101 and stderr holds the message;
//! - `env`: prints its arguments, an environment variable and its working directory —
//!   arguments with spaces arrive intact, `env`/`env_remove`/`env_clear` and
//!   `current_dir` take effect;
//! - `sleep`: sleeps until killed; `kill` ends it with SIGKILL, `try_wait` sees it run.
//!
//! Also `std::env::args` and `vars` in this process, `set_var`/`remove_var`, and
//! `Command::output` of a program that does not exist (NotFound).

use std::env;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

const T: &str = "std_process";

#[macro_use]
#[path = "../check.rs"]
mod check;
use check::fail;

/// The child roles; returns the exit code.
fn child(role: &str, rest: &[String]) -> i32 {
    match role {
        "upper" => {
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input).unwrap();
            std::io::stdout()
                .write_all(&input.to_ascii_uppercase())
                .unwrap();
            eprintln!("upper: {} bytes", input.len());
            3
        }
        "panic" => panic!("child panicked: code {}", 7 * 6),
        "env" => {
            println!("args={}", rest.join("|"));
            println!(
                "var={}",
                env::var("STD_PROCESS_VAR").unwrap_or_else(|_| "unset".into())
            );
            println!(
                "home={}",
                env::var("HOME").unwrap_or_else(|_| "unset".into())
            );
            println!("cwd={}", env::current_dir().unwrap().display());
            println!("nvars={}", env::vars_os().count());
            0
        }
        "sleep" => {
            thread::sleep(Duration::from_secs(60));
            4
        }
        _ => 99,
    }
}

fn pipes(exe: &str) {
    let mut c = Command::new(exe)
        .arg("upper")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(format!("spawn: {e}")));
    let input: Vec<u8> = (0..65536u32)
        .map(|i| b"abcdefghij\n"[(i % 11) as usize])
        .collect();
    let mut stdin = c.stdin.take().unwrap();
    // Write from a thread: the child cannot take more than a pipe's worth until we read.
    let expect = input.to_ascii_uppercase();
    let writer = thread::spawn(move || stdin.write_all(&input));
    let out = c.wait_with_output().unwrap();
    check!(writer.join().unwrap().is_ok(), "writing the child's stdin");
    check!(out.status.code() == Some(3), "status {:?}", out.status);
    check!(out.stdout == expect, "stdout: {} bytes", out.stdout.len());
    check!(
        out.stderr == b"upper: 65536 bytes\n",
        "stderr {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn panic_status(exe: &str) {
    let out = Command::new(exe).arg("panic").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    check!(
        out.status.code() == Some(101),
        "panic status {:?}",
        out.status
    );
    check!(
        stderr.contains("child panicked: code 42"),
        "stderr {stderr:?}"
    );
    check!(out.stdout.is_empty(), "stdout {:?}", out.stdout);
}

fn environment(exe: &str) {
    let out = Command::new(exe)
        .args(["env", "two words", "", "tab\there"])
        .env("STD_PROCESS_VAR", "from parent")
        .env_remove("HOME")
        .current_dir("/tmp")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    check!(out.status.success(), "env child {:?}", out.status);
    let want = "args=two words||tab\there\nvar=from parent\nhome=unset\ncwd=/tmp\n";
    check!(text.starts_with(want), "env child printed {text:?}");
    // env_clear: nothing inherited at all.
    let out = Command::new(exe).arg("env").env_clear().output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    check!(
        text.ends_with("nvars=0\n"),
        "env_clear child printed {text:?}"
    );
    // Inherited: what this process set.
    unsafe { env::set_var("STD_PROCESS_VAR", "inherited") };
    let out = Command::new(exe).arg("env").output().unwrap();
    check!(
        String::from_utf8_lossy(&out.stdout).contains("var=inherited\n"),
        "inherited var"
    );
    unsafe { env::remove_var("STD_PROCESS_VAR") };
    check!(env::var("STD_PROCESS_VAR").is_err(), "remove_var");
}

fn kill(exe: &str) {
    let mut c = Command::new(exe).arg("sleep").spawn().unwrap();
    check!(
        matches!(c.try_wait(), Ok(None)),
        "try_wait of a sleeping child"
    );
    c.kill().unwrap();
    let st = c.wait().unwrap();
    check!(
        st.signal() == Some(9) && st.code().is_none(),
        "killed child: {st:?}"
    );
    let e = Command::new("/no/such/program").output().err();
    check!(
        e.as_ref().map(|e| e.kind()) == Some(std::io::ErrorKind::NotFound),
        "missing program: {e:?}"
    );
}

fn main() {
    let args: Vec<String> = env::args().collect();
    if args.len() > 1 {
        std::process::exit(child(&args[1], &args[2..]));
    }
    let exe = env::current_exe().unwrap_or_else(|e| fail(format!("current_exe: {e}")));
    // argv[0] is the path it was started by (/bin/std_process here, /prog on the oracle).
    check!(exe.is_absolute() && exe.is_file(), "current_exe {exe:?}");
    check!(
        args.len() == 1 && exe.ends_with(&args[0]),
        "argv {args:?}, exe {exe:?}"
    );
    let exe = exe.to_str().unwrap().to_owned();
    // Every environment variable is NAME=value, and PATH-like ones round-trip.
    for (k, v) in env::vars() {
        check!(!k.is_empty() && !k.contains('='), "variable {k:?}={v:?}");
    }
    unsafe { env::set_var("STD_PROCESS_SELF", "a=b c") };
    check!(
        env::var("STD_PROCESS_SELF").as_deref() == Ok("a=b c"),
        "set_var"
    );
    check!(
        env::vars().any(|(k, v)| k == "STD_PROCESS_SELF" && v == "a=b c"),
        "vars()"
    );
    pipes(&exe);
    panic_status(&exe);
    environment(&exe);
    kill(&exe);
    println!("{T}: ok");
}
