//! tsh, the teachos shell: a small shell to read from top to bottom, in the spirit of
//! xv6's user/sh.c. It is /bin/tsh, and /bin/sh when busybox could not be fetched.
//!
//! It reads a line, cuts it into tokens (words and operators), and runs it:
//!
//! ```text
//!   line      = pipeline { ";" pipeline | "&" pipeline } [";" | "&"]
//!   pipeline  = command { "|" command }
//!   command   = word { word | "<" word | ">" word | ">>" word }
//! ```
//!
//! Words may be quoted: '...' keeps every character, "..." every one but \" \\ \$ (a
//! backslash keeps the next one) and `$?`; outside quotes a backslash keeps the next
//! character, `$?` is the last status and `#` at the start of a word begins a comment.
//! Built in: `cd [DIR]`, `exit [N]`, `wait`. Any other command is a program: NAME is
//! /bin/NAME, a name with a slash is used as it is.
//!
//! Interactive (stdin a terminal, no script): a prompt, and job control's basics — each
//! pipeline runs in its own process group; a foreground one owns the terminal (so ^C
//! and ^Z reach it, not the shell) until it ends or stops; `&` leaves it in the
//! background, and its end is reported before the next prompt. (There is no `fg` or
//! `bg`: busybox's shell has them.)
//!
//! ```text
//!   tsh                 commands from stdin
//!   tsh FILE            commands from FILE
//!   tsh -c COMMANDS     the commands in COMMANDS
//! ```
//! The exit status is the last command's: its exit code, or 128 + the signal that killed
//! it. System calls: fork, execve, wait4, pipe2, dup3, openat, close, chdir, setpgid,
//! ioctl(TIOCSPGRP), rt_sigaction.
#![no_std]
#![no_main]

use core::ffi::CStr;
use ulib::*;

const MAXLINE: usize = 1024;
const MAXTOKENS: usize = 128;
const MAXARGS: usize = 32;
const MAXCMDS: usize = 16;

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    let mut sh = Shell {
        interactive: false,
        status: 0,
        envp: args.envp(),
    };
    match (args.get(1), args.get(2)) {
        (Some("-c"), Some(commands)) => {
            sh.run_text(commands.as_bytes());
        }
        (Some(file), _) => {
            let path = PathBuf::new(file.as_bytes());
            let fd = open(path.as_cstr(), O_RDONLY | O_CLOEXEC, 0);
            if fd < 0 {
                eprint(&[b"tsh: cannot open ", file.as_bytes()]);
                return 127;
            }
            sh.run_fd(fd as i32);
        }
        (None, _) => {
            sh.interactive = isatty(0);
            if sh.interactive {
                // The shell itself ignores the terminal's signals; its children get the
                // default actions back (in `child`).
                for sig in [SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU] {
                    set_signal_handler(sig, SIG_IGN);
                }
            }
            sh.run_fd(0);
        }
    }
    sh.status
}

/// A token of a command line. A word is kept in `Tokens::text`, where it starts at the
/// given offset and ends with a NUL (as execve wants its strings).
#[derive(Clone, Copy, PartialEq)]
enum Token {
    Word(usize),
    Pipe,
    In,
    Out,
    Append,
    Background,
    Semicolon,
}

/// One pipeline of a command line, cut into tokens (`Tokens::lex`).
struct Tokens {
    text: [u8; 2 * MAXLINE],
    len: usize,
    list: [Token; MAXTOKENS],
    n: usize,
}

/// One command of a pipeline: its words and its redirections' files (each a word's
/// offset in `Tokens::text`).
#[derive(Clone, Copy)]
struct Command {
    argv: [usize; MAXARGS],
    argc: usize,
    input: Option<usize>,
    output: Option<(usize, bool)>, // (file, append)
}

struct Shell {
    interactive: bool,
    /// `$?`: the last pipeline's status.
    status: i32,
    /// Our environment, passed on to every program.
    envp: *const *const u8,
}

impl Shell {
    /// Reads lines from `fd` and runs each, until end of file (or `exit`).
    fn run_fd(&mut self, fd: i32) {
        let mut line = [0u8; MAXLINE];
        loop {
            self.reap_background();
            if self.interactive {
                self.prompt();
            }
            match read_line(fd, &mut line) {
                Some(Ok(n)) => self.run_text(&line[..n]),
                Some(Err(())) => {
                    eprint(&[b"tsh: line too long"]);
                    self.status = 2;
                }
                None => return, // end of input
            }
        }
    }

    /// "tsh:/tmp# ": the current directory in the prompt.
    fn prompt(&self) {
        let mut cwd = [0u8; 256];
        let n = getcwd(&mut cwd);
        let dir = if n > 0 { &cwd[..n as usize - 1] } else { b"?" };
        write_all(1, &[b"tsh:", dir, b"# "]);
    }

    /// Runs one command line, pipeline by pipeline; each is cut into tokens when its turn
    /// comes, so that `$?` is the status of the one before. But the whole line is checked
    /// first: nothing runs if any part of it is not well formed.
    fn run_text(&mut self, text: &[u8]) {
        for run in [false, true] {
            let mut at = 0;
            while at < text.len() {
                let mut t = Tokens::new();
                let mut cmds = [Command::EMPTY; MAXCMDS];
                let parsed = t.lex(text, at, self.status).and_then(|next| {
                    at = next;
                    t.parse_pipeline(&mut cmds)
                });
                match parsed {
                    Err(e) => {
                        eprint(&[b"tsh: ", e.as_bytes()]);
                        self.status = 2;
                        return;
                    }
                    Ok((0, _)) => {} // a blank line, or only a comment
                    Ok((n, background)) if run => self.run_pipeline(&t, &cmds[..n], background),
                    Ok(_) => {}
                }
            }
        }
    }

    /// Runs a pipeline: a built-in in the shell itself, else one child per command,
    /// connected by pipes, all in one process group (interactive only).
    fn run_pipeline(&mut self, t: &Tokens, cmds: &[Command], background: bool) {
        if cmds.len() == 1 && self.builtin(t, &cmds[0]) {
            return;
        }
        let mut pids = [0isize; MAXCMDS];
        let mut pgid = 0;
        let mut prev_read = -1; // the read end of the pipe from the previous command
        for (i, cmd) in cmds.iter().enumerate() {
            // The pipe to the next command. O_CLOEXEC: the programs get only the ends
            // dup3 puts on their fds 0 and 1.
            let (next_read, pipe_write) = if i + 1 < cmds.len() {
                match pipe2(O_CLOEXEC) {
                    Ok([r, w]) => (r, w),
                    Err(e) => {
                        eprint_errno(b"pipe", e);
                        break;
                    }
                }
            } else {
                (-1, -1)
            };
            let pid = fork();
            if pid == 0 {
                self.child(t, cmd, prev_read, pipe_write, pgid, background);
            }
            if pid < 0 {
                eprint_errno(b"fork", pid);
            } else {
                // The parent sets the group too: whichever runs first, it is set before
                // the shell hands over the terminal or waits.
                if pgid == 0 {
                    pgid = pid;
                }
                if self.interactive {
                    setpgid(pid, pgid);
                }
                pids[i] = pid;
            }
            for fd in [prev_read, pipe_write] {
                if fd >= 0 {
                    close(fd);
                }
            }
            prev_read = next_read;
        }
        if prev_read >= 0 {
            close(prev_read);
        }
        if background {
            if self.interactive {
                print_line(&[b"[", &num_arg(pgid as usize), b"]"]);
            }
            self.status = 0;
            return;
        }
        if self.interactive && pgid > 0 {
            tcsetpgrp(0, pgid);
        }
        for &pid in pids[..cmds.len()].iter().filter(|&&p| p > 0) {
            let status = wait_for(pid);
            if status & 0xff == 0x7f {
                // Stopped (^Z): it stays stopped, in the background.
                print_line(&[b"\n[", &num_arg(pgid as usize), b"] Stopped"]);
                self.status = 128 + ((status >> 8) & 0x7f);
            } else {
                self.status = exit_code(status); // the last command's status wins
            }
        }
        if self.interactive {
            tcsetpgrp(0, getpgid(0));
            if self.status == 128 + SIGINT as i32 {
                write(1, b"\n"); // after the "^C" the terminal echoed
            }
        }
    }

    /// A child's side of `run_pipeline`: its group, the terminal's signals back to their
    /// defaults, its fds 0 and 1 from the pipes and the redirections, then the program.
    fn child(
        &self,
        t: &Tokens,
        cmd: &Command,
        stdin: i32,
        stdout: i32,
        pgid: isize,
        background: bool,
    ) -> ! {
        if self.interactive {
            // The first command of a pipeline leads a new group named after itself
            // (setpgid's 0); tcsetpgrp needs that name, not 0 (ESRCH).
            let pgid = if pgid == 0 { getpid() } else { pgid };
            setpgid(0, pgid);
            // A foreground job takes the terminal here too, as the parent does: whichever
            // runs first, the command never runs (or asks tcgetpgrp) before its group is
            // the foreground one. (SIGTTOU is still ignored, so a child not yet in the
            // foreground group may do it; bash's child does the same.)
            if !background {
                tcsetpgrp(0, pgid);
            }
            for sig in [SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU] {
                set_signal_handler(sig, SIG_DFL);
            }
        } else if background && cmd.input.is_none() && stdin < 0 {
            // POSIX: without job control, a background command reads /dev/null.
            let fd = open(c"/dev/null", O_RDONLY, 0);
            move_fd(fd as i32, 0);
        }
        if stdin >= 0 {
            move_fd(stdin, 0);
        }
        if stdout >= 0 {
            move_fd(stdout, 1);
        }
        if let Some(file) = cmd.input {
            redirect(t, file, O_RDONLY, 0);
        }
        if let Some((file, append)) = cmd.output {
            let how = if append { O_APPEND } else { O_TRUNC };
            redirect(t, file, O_WRONLY | O_CREAT | how, 1);
        }
        // NAME is /bin/NAME; a name with a slash in it is a path.
        let name = t.word(cmd.argv[0]).to_bytes();
        let mut path = PathBuf::new(b"/bin/");
        let path = if name.contains(&b'/') {
            path.clear().push(name)
        } else {
            path.push(name)
        };
        // execve's argv: pointers to the words, then NULL.
        let mut argv = [core::ptr::null(); MAXARGS + 1];
        for (p, &w) in argv.iter_mut().zip(&cmd.argv[..cmd.argc]) {
            *p = t.word(w).as_ptr();
        }
        let r = execve(
            path.as_cstr().as_ptr(),
            argv.as_ptr() as *const usize,
            self.envp as *const usize,
        );
        if r == -ENOENT {
            eprint(&[b"tsh: ", name, b": not found"]);
            exit_group(127);
        }
        eprint_errno(name, r);
        exit_group(126)
    }

    /// cd, exit and wait run in the shell itself; true if `cmd` was one of them.
    fn builtin(&mut self, t: &Tokens, cmd: &Command) -> bool {
        let arg = |i: usize| (i < cmd.argc).then(|| t.word(cmd.argv[i]));
        match t.word(cmd.argv[0]).to_bytes() {
            b"cd" => {
                let dir = arg(1).unwrap_or(c"/");
                let r = chdir(dir);
                if r < 0 {
                    eprint_errno(dir.to_bytes(), r);
                }
                self.status = (r < 0) as i32;
            }
            b"exit" => {
                let code = match arg(1) {
                    None => self.status,
                    Some(n) => match n.to_str().ok().and_then(parse_num) {
                        Some(n) => n as i32 & 0xff,
                        None => 2,
                    },
                };
                exit_group(code);
            }
            b"wait" => {
                // Every child; then status 0 (POSIX: `wait` without operands).
                while wait4(-1, 0).0 != -ECHILD {}
                self.status = 0;
            }
            _ => return false,
        }
        true
    }

    /// Reaps background jobs that ended; interactive shells say so.
    fn reap_background(&mut self) {
        loop {
            let (pid, status) = wait4(-1, WNOHANG);
            if pid <= 0 {
                return;
            }
            if self.interactive {
                let code = exit_code(status);
                print_line(&[
                    b"[",
                    &num_arg(pid as usize),
                    b"] Done ",
                    &num_arg(code as usize),
                ]);
            }
        }
    }
}

impl Tokens {
    fn new() -> Tokens {
        Tokens {
            text: [0; 2 * MAXLINE],
            len: 0,
            list: [Token::Semicolon; MAXTOKENS],
            n: 0,
        }
    }

    /// Cuts one pipeline of `line`, from `line[at]` to the first `;` or `&` (included),
    /// into tokens; `$?` becomes `status`. Returns where the next pipeline starts.
    fn lex(&mut self, line: &[u8], at: usize, status: i32) -> Result<usize, &'static str> {
        let mut i = at;
        while i < line.len() {
            let token = match line[i] {
                b' ' | b'\t' | b'\r' | b'\n' => {
                    i += 1;
                    continue;
                }
                b'#' => return Ok(line.len()), // a comment, to the end of the line
                b'|' => Token::Pipe,
                b'&' => Token::Background,
                b';' => Token::Semicolon,
                b'<' => Token::In,
                b'>' if line.get(i + 1) == Some(&b'>') => {
                    i += 1;
                    Token::Append
                }
                b'>' => Token::Out,
                _ => {
                    let start = self.len;
                    i = self.lex_word(line, i, status)?;
                    self.push(Token::Word(start))?;
                    continue;
                }
            };
            i += 1;
            self.push(token)?;
            if matches!(token, Token::Semicolon | Token::Background) {
                break;
            }
        }
        Ok(i)
    }

    /// Copies the word that starts at `line[i]` into `text`, without its quotes, with a
    /// NUL after it; returns where it ends in `line`.
    fn lex_word(&mut self, line: &[u8], mut i: usize, status: i32) -> Result<usize, &'static str> {
        let mut quote = 0u8; // the open quote, or 0
        while let Some(&c) = line.get(i) {
            i += 1;
            match (quote, c) {
                (0, b' ' | b'\t' | b'\r' | b'\n' | b'|' | b'&' | b';' | b'<' | b'>') => {
                    i -= 1; // an operator or a blank ends the word
                    break;
                }
                (0, b'\'' | b'"') => quote = c,
                (q, _) if q == c => quote = 0,
                (0 | b'"', b'$') if line.get(i) == Some(&b'?') => {
                    i += 1;
                    let digits = num_arg(status as usize);
                    for &d in digits.iter().take_while(|&&d| d != 0) {
                        self.put(d)?;
                    }
                }
                (0, b'\\') | (b'"', b'\\') if line.get(i).is_some() => {
                    let next = line[i];
                    if quote == b'"' && !matches!(next, b'"' | b'\\' | b'$') {
                        self.put(b'\\')?; // inside "...", other backslashes stay
                    }
                    self.put(next)?;
                    i += 1;
                }
                _ => self.put(c)?,
            }
        }
        if quote != 0 {
            return Err("unterminated quote");
        }
        self.put(0)?;
        Ok(i)
    }

    /// The word that starts at `text[start]`.
    fn word(&self, start: usize) -> &CStr {
        CStr::from_bytes_until_nul(&self.text[start..]).unwrap_or(c"")
    }

    fn put(&mut self, b: u8) -> Result<(), &'static str> {
        *self.text.get_mut(self.len).ok_or("line too long")? = b;
        self.len += 1;
        Ok(())
    }

    fn push(&mut self, token: Token) -> Result<(), &'static str> {
        *self.list.get_mut(self.n).ok_or("too many words")? = token;
        self.n += 1;
        Ok(())
    }

    /// The commands of the pipeline `lex` cut, into `cmds`: how many there are (0 for a
    /// blank line), and whether it ended with `&`.
    fn parse_pipeline(&self, cmds: &mut [Command]) -> Result<(usize, bool), &'static str> {
        let mut n = 0;
        let mut tokens = self.list[..self.n].iter();
        let mut background = false;
        while let Some(&token) = tokens.next() {
            let cmd = cmds.get_mut(n).ok_or("pipeline too long")?;
            match token {
                Token::Word(w) => {
                    if cmd.argc == MAXARGS {
                        return Err("too many arguments");
                    }
                    cmd.argv[cmd.argc] = w;
                    cmd.argc += 1;
                }
                Token::In | Token::Out | Token::Append => {
                    let Some(&Token::Word(file)) = tokens.next() else {
                        return Err("syntax error: a file name must follow < > >>");
                    };
                    match token {
                        Token::In => cmd.input = Some(file),
                        _ => cmd.output = Some((file, token == Token::Append)),
                    }
                }
                Token::Pipe => {
                    if cmd.argc == 0 {
                        return Err("syntax error: a command must come before |");
                    }
                    n += 1;
                }
                // The last token (lex stops there).
                Token::Background | Token::Semicolon => background = token == Token::Background,
            }
        }
        match cmds.get(n) {
            Some(cmd) if cmd.argc > 0 => Ok((n + 1, background)),
            _ if n == 0 && self.n == 0 => Ok((0, false)),
            _ if n == 0 => Err("syntax error: an empty command before ; or &"),
            _ => Err("syntax error: a command must follow |"),
        }
    }
}

impl Command {
    const EMPTY: Command = Command {
        argv: [0; MAXARGS],
        argc: 0,
        input: None,
        output: None,
    };
}

/// Reads one line from `fd` (without its '\n'), a byte at a time, so that the rest of
/// the input is left for the commands to read. None at end of input (or a read error).
fn read_line(fd: i32, line: &mut [u8]) -> Option<Result<usize, ()>> {
    let mut n = 0;
    let mut too_long = false;
    loop {
        let mut b = [0u8];
        match read(fd, &mut b) {
            1 if b[0] == b'\n' => break,
            1 if n < line.len() => {
                line[n] = b[0];
                n += 1;
            }
            1 => too_long = true,
            r if r == -EINTR => continue,
            _ if n > 0 => break, // the last line has no '\n'
            _ => return None,
        }
    }
    Some(if too_long { Err(()) } else { Ok(n) })
}

/// Waits for `pid` to end or stop; its wait status.
fn wait_for(pid: isize) -> i32 {
    loop {
        let (r, status) = wait4(pid, WUNTRACED);
        if r == pid {
            return status;
        }
        if r != -EINTR {
            return 127 << 8;
        }
    }
}

/// A wait status as `$?`: the exit code, or 128 + the signal.
fn exit_code(status: i32) -> i32 {
    match status_signal(status) {
        Some(sig) => 128 + sig,
        None => (status >> 8) & 0xff,
    }
}

/// Opens word `file` of `t` with `flags` as fd `to` (a child's redirection); on failure
/// the child says why and exits 1.
fn redirect(t: &Tokens, file: usize, flags: usize, to: i32) {
    let fd = open(t.word(file), flags, 0o666);
    if fd < 0 {
        eprint_errno(t.word(file).to_bytes(), fd);
        exit_group(1);
    }
    move_fd(fd as i32, to);
}

/// Makes `fd` be fd `to` and closes `fd` (dup3 also clears close-on-exec).
fn move_fd(fd: i32, to: i32) {
    if fd >= 0 && fd != to {
        dup3(fd, to, 0);
        close(fd);
    }
}

/// Writes the pieces, then a newline, to stdout.
fn print_line(parts: &[&[u8]]) {
    write_all(1, parts);
    write(1, b"\n");
}

/// Writes the pieces, then a newline, to stderr.
fn eprint(parts: &[&[u8]]) {
    write_all(2, parts);
    write(2, b"\n");
}

/// "tsh: what: error N" on stderr.
fn eprint_errno(what: &[u8], err: isize) {
    eprint(&[b"tsh: ", what, b": error ", &num_arg((-err) as usize)]);
}

/// Writes the pieces to `fd`; a piece from num_arg stops at its NUL.
fn write_all(fd: i32, parts: &[&[u8]]) {
    for part in parts {
        let len = part.iter().position(|&b| b == 0).unwrap_or(part.len());
        write(fd, &part[..len]);
    }
}
