//! The line discipline (Linux drivers/tty/n_tty.c; xv6-riscv kernel/console.c is the
//! minimal version): what happens to each byte typed at the terminal before a program
//! reads it. Pure logic, tested on the host: a byte goes in; out come the bytes to echo,
//! maybe a signal for the foreground process group, and maybe input a reader can now
//! take. The caller (tty_io.rs) holds the tty's lock, writes the echo to the UART, sends
//! the signal and wakes the readers.
//!
//! The read buffer is a ring of `N_TTY_BUF_SIZE` bytes with three running counters
//! (Linux's names; a byte's slot is `counter % N_TTY_BUF_SIZE`):
//!
//! ```text
//!   read_tail          canon_head                 read_head
//!      |  complete lines  |  the line being edited  |
//!      |  (a reader may   |  (ERASE/KILL/WERASE     |
//!      |   take them)     |   change it)            |
//! ```
//!
//! In canonical mode (ICANON) a byte becomes readable only when its line ends ('\n',
//! VEOL, VEOL2, or VEOF, which ends the line without being read: ^D at the start of a
//! line makes read() return 0). Each line end is marked (Linux `read_flags`) so a read
//! returns at most one line. In non-canonical ("raw") mode every byte is readable at once
//! and `canon_head` follows `read_head`.
//!
//! Per byte, in Linux's order: input mapping (IGNCR, ICRNL, INLCR); with ISIG the
//! interrupt, quit and suspend characters become SIGINT/SIGQUIT/SIGTSTP and flush the
//! input (unless NOFLSH); with ICANON the editing characters; then the byte is stored and
//! echoed (ECHO; control characters as ^X with ECHOCTL). Output processing (OPOST|ONLCR:
//! '\n' → "\r\n") applies to the echo and to what programs write.
//!
//! Not done: IXON flow control (^S/^Q are swallowed, output never stops), column
//! tracking for erasing a TAB (it is erased as one column), ECHOPRT, EXTPROC, VDISCARD.

use super::termios::*;

/// Linux's read buffer size: the longest line canonical mode accepts is one less.
pub const N_TTY_BUF_SIZE: usize = 4096;

// The signals the special characters raise (Linux numbers).
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGTSTP: u32 = 20;

/// What a stored byte is (Linux keeps only the line-end bit and stores VEOF as a 0 byte;
/// a separate mark keeps a typed NUL apart from an end of file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mark {
    Plain,
    /// Ends a line and is read ('\n', VEOL, VEOL2).
    LineEnd,
    /// Ends a line and is not read (VEOF).
    Eof,
}

/// The outcome of one received byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Send this signal to the foreground process group.
    pub signal: Option<u32>,
    /// Input became readable: wake the readers.
    pub wake: bool,
}

/// Which kind of erase (Linux `eraser`'s `kill_type`: ERASE, WERASE, KILL).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Erase {
    Char,
    Word,
    Line,
}

/// One terminal's input state (Linux `struct n_tty_data`).
pub struct NTty {
    buf: [u8; N_TTY_BUF_SIZE],
    mark: [Mark; N_TTY_BUF_SIZE],
    read_tail: usize,
    canon_head: usize,
    read_head: usize,
    /// The previous byte was VLNEXT: take this one literally.
    lnext: bool,
}

impl Default for NTty {
    fn default() -> Self {
        Self::new()
    }
}

impl NTty {
    pub const fn new() -> NTty {
        NTty {
            buf: [0; N_TTY_BUF_SIZE],
            mark: [Mark::Plain; N_TTY_BUF_SIZE],
            read_tail: 0,
            canon_head: 0,
            read_head: 0,
            lnext: false,
        }
    }

    fn at(&self, i: usize) -> (u8, Mark) {
        let slot = i % N_TTY_BUF_SIZE;
        (self.buf[slot], self.mark[slot])
    }

    /// Bytes received and not yet read (complete lines and the line being edited).
    fn count(&self) -> usize {
        self.read_head - self.read_tail
    }

    /// Appends a byte; false if the buffer is full (the byte is lost, as on a UART whose
    /// FIFO overflows).
    fn put(&mut self, c: u8, mark: Mark) -> bool {
        if self.count() >= N_TTY_BUF_SIZE {
            return false;
        }
        let slot = self.read_head % N_TTY_BUF_SIZE;
        self.buf[slot] = c;
        self.mark[slot] = mark;
        self.read_head += 1;
        true
    }

    /// Throws away all input (TCFLSH, a signal character without NOFLSH; Linux
    /// `reset_buffer_flags`).
    pub fn flush(&mut self) {
        self.read_tail = 0;
        self.canon_head = 0;
        self.read_head = 0;
        self.lnext = false;
    }

    /// Linux `n_tty_receive_char` and friends: one byte from the keyboard (the UART
    /// interrupt, or TIOCSTI). `out` receives the echo, already output-processed.
    pub fn receive(&mut self, c: u8, t: &Termios, out: &mut dyn FnMut(&[u8])) -> Received {
        let echo = t.lflag(ECHO);
        if self.lnext {
            // Taken literally; its echo overwrites the '^' shown for VLNEXT.
            self.lnext = false;
            return self.store(c, Mark::Plain, t, out);
        }
        // 1. Input mapping.
        let c = match c {
            b'\r' if t.iflag(IGNCR) => return Received::default(),
            b'\r' if t.iflag(ICRNL) => b'\n',
            b'\n' if t.iflag(INLCR) => b'\r',
            c => c,
        };
        // Flow control characters are taken out of the input (the stop itself is not
        // implemented).
        if t.iflag(IXON) && (t.is(c, VSTART) || t.is(c, VSTOP)) {
            return Received::default();
        }
        // 2. Signal characters.
        if t.lflag(ISIG) {
            let sig = [(VINTR, SIGINT), (VQUIT, SIGQUIT), (VSUSP, SIGTSTP)]
                .into_iter()
                .find(|&(i, _)| t.is(c, i));
            if let Some((_, sig)) = sig {
                if !t.lflag(NOFLSH) {
                    self.flush();
                }
                if echo {
                    echo_char(c, t, out);
                }
                return Received {
                    signal: Some(sig),
                    wake: false,
                };
            }
        }
        if !t.icanon() {
            return self.store(c, Mark::Plain, t, out);
        }
        // 3. Canonical editing.
        let iexten = t.lflag(IEXTEN);
        if t.is(c, VERASE) || t.is(c, VKILL) || (iexten && t.is(c, VWERASE)) {
            let kind = if t.is(c, VERASE) {
                Erase::Char
            } else if t.is(c, VKILL) {
                Erase::Line
            } else {
                Erase::Word
            };
            self.eraser(c, kind, t, out);
            return Received::default();
        }
        if iexten && t.is(c, VLNEXT) {
            self.lnext = true;
            if echo && t.lflag(ECHOCTL) {
                out(b"^\x08");
            }
            return Received::default();
        }
        if iexten && t.is(c, VREPRINT) && echo {
            echo_char(c, t, out);
            output(t, b'\n', out);
            for i in self.canon_head..self.read_head {
                echo_char(self.at(i).0, t, out);
            }
            return Received::default();
        }
        if c == b'\n' {
            if echo || t.lflag(ECHONL) {
                output(t, b'\n', out);
            }
            return self.end_line(c, Mark::LineEnd);
        }
        if t.is(c, VEOF) {
            return self.end_line(0, Mark::Eof);
        }
        if t.is(c, VEOL) || t.is(c, VEOL2) {
            if echo {
                echo_char(c, t, out);
            }
            return self.end_line(c, Mark::LineEnd);
        }
        self.store(c, Mark::Plain, t, out)
    }

    /// An ordinary byte: echoed and stored (readable at once in raw mode). In canonical
    /// mode the last free slot is kept for the line's end.
    fn store(&mut self, c: u8, mark: Mark, t: &Termios, out: &mut dyn FnMut(&[u8])) -> Received {
        if t.icanon() && self.count() >= N_TTY_BUF_SIZE - 1 {
            return Received::default();
        }
        if t.lflag(ECHO) {
            if c == b'\n' {
                output(t, c, out);
            } else {
                echo_char(c, t, out);
            }
        }
        if !self.put(c, mark) {
            return Received::default();
        }
        if t.icanon() {
            return Received::default();
        }
        self.canon_head = self.read_head;
        Received {
            signal: None,
            wake: true,
        }
    }

    /// Stores a line end and makes the line readable.
    fn end_line(&mut self, c: u8, mark: Mark) -> Received {
        if !self.put(c, mark) {
            return Received::default();
        }
        self.canon_head = self.read_head;
        Received {
            signal: None,
            wake: true,
        }
    }

    /// Linux `eraser`: VERASE takes back one character, VWERASE a word (trailing
    /// punctuation, then letters, digits and '_'), VKILL the whole line being edited.
    fn eraser(&mut self, c: u8, kind: Erase, t: &Termios, out: &mut dyn FnMut(&[u8])) {
        if self.read_head == self.canon_head {
            return; // nothing typed since the last line end
        }
        let echo = t.lflag(ECHO);
        if kind == Erase::Line {
            if !echo {
                self.read_head = self.canon_head;
                return;
            }
            if !t.lflag(ECHOK) || !t.lflag(ECHOKE) || !t.lflag(ECHOE) {
                self.read_head = self.canon_head;
                echo_char(c, t, out);
                if t.lflag(ECHOK) {
                    output(t, b'\n', out);
                }
                return;
            }
        }
        let utf8 = t.iflag(IUTF8);
        let continuation = |b: u8| utf8 && b & 0xc0 == 0x80;
        let mut seen_alnums = 0;
        while self.read_head != self.canon_head {
            // One character, all of its UTF-8 bytes.
            let mut head = self.read_head;
            let mut b;
            loop {
                head -= 1;
                b = self.at(head).0;
                if !continuation(b) || head == self.canon_head {
                    break;
                }
            }
            if continuation(b) {
                break; // never erase half a character
            }
            if kind == Erase::Word {
                if b.is_ascii_alphanumeric() || b == b'_' {
                    seen_alnums += 1;
                } else if seen_alnums > 0 {
                    break;
                }
            }
            self.read_head = head;
            if echo {
                if kind == Erase::Char && !t.lflag(ECHOE) {
                    echo_char(t.cc[VERASE], t, out);
                } else if is_cntrl(b) && b != b'\t' {
                    // Shown as two columns ("^X") with ECHOCTL, none without.
                    if t.lflag(ECHOCTL) {
                        out(b"\x08 \x08\x08 \x08");
                    }
                } else {
                    out(b"\x08 \x08");
                }
            }
            if kind == Erase::Char {
                break;
            }
        }
    }

    /// Copies readable input into `dst` (Linux `canon_copy_from_read_buf` and
    /// `copy_from_read_buf`). Canonical mode: at most up to the end of the first line —
    /// returns (bytes, true) once that line is used up, its VEOF marker included (so a
    /// line of only ^D gives (0, true): end of file). Raw mode: whatever is there.
    /// (0, false): nothing to read yet.
    pub fn read(&mut self, t: &Termios, dst: &mut [u8]) -> (usize, bool) {
        if !t.icanon() {
            let n = self.count().min(dst.len());
            for (i, d) in dst[..n].iter_mut().enumerate() {
                *d = self.at(self.read_tail + i).0;
            }
            self.read_tail += n;
            self.canon_head = self.read_head;
            return (n, false);
        }
        let avail = self.canon_head - self.read_tail;
        let Some(eol) = (0..avail).find(|&i| self.at(self.read_tail + i).1 != Mark::Plain) else {
            return (0, false);
        };
        let eof = self.at(self.read_tail + eol).1 == Mark::Eof;
        let line = if eof { eol } else { eol + 1 };
        let n = line.min(dst.len());
        for (i, d) in dst[..n].iter_mut().enumerate() {
            *d = self.at(self.read_tail + i).0;
        }
        if n == line {
            self.read_tail += eol + 1; // the line and its end, a VEOF marker too
            (n, true)
        } else {
            self.read_tail += n;
            (n, false)
        }
    }

    /// FIONREAD (Linux `inq_canon`): bytes a read could return now — in canonical mode
    /// those of complete lines, VEOF markers not counted.
    pub fn readable_bytes(&self, t: &Termios) -> usize {
        if !t.icanon() {
            return self.count();
        }
        (self.read_tail..self.canon_head)
            .filter(|&i| self.at(i).1 != Mark::Eof)
            .count()
    }

    /// Whether a read would return without waiting (Linux `input_available_p`): a
    /// complete line in canonical mode; in raw mode one byte, or VMIN of them when
    /// `poll` asks and VTIME is 0 (a reader woken earlier would sleep again).
    pub fn input_available(&self, t: &Termios, poll: bool) -> bool {
        if t.icanon() {
            return self.canon_head != self.read_tail;
        }
        let min = t.cc[VMIN] as usize;
        let amt = if poll && t.cc[VTIME] == 0 && min > 0 {
            min
        } else {
            1
        };
        self.count() >= amt
    }

    /// Bytes available in raw mode (what VMIN is compared with).
    pub fn raw_count(&self) -> usize {
        self.count()
    }

    /// TCSETS changed the settings (Linux `n_tty_set_termios`). Switching ICANON off
    /// makes everything typed readable; switching it on turns what is buffered into one
    /// complete line.
    pub fn set_termios(&mut self, old: &Termios, new: &Termios) {
        if old.icanon() == new.icanon() {
            return;
        }
        for i in self.read_tail..self.read_head {
            self.mark[i % N_TTY_BUF_SIZE] = Mark::Plain;
        }
        if new.icanon() && self.count() > 0 {
            self.mark[(self.read_head - 1) % N_TTY_BUF_SIZE] = Mark::LineEnd;
        }
        self.canon_head = self.read_head;
        self.lnext = false;
    }
}

fn is_cntrl(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

/// Linux `echo_char`: a control character as "^X" with ECHOCTL (TAB as itself).
fn echo_char(c: u8, t: &Termios, out: &mut dyn FnMut(&[u8])) {
    if t.lflag(ECHOCTL) && is_cntrl(c) && c != b'\t' {
        out(&[b'^', c ^ 0x40]);
    } else {
        output(t, c, out);
    }
}

/// Linux `do_output_char`: one byte with output processing (OPOST|ONLCR: '\n' → "\r\n").
pub fn output(t: &Termios, c: u8, out: &mut dyn FnMut(&[u8])) {
    if c == b'\n' && t.oflag & (OPOST | ONLCR) == OPOST | ONLCR {
        out(b"\r\n");
    } else {
        out(&[c]);
    }
}

/// Output processing of a block a program wrote: `dst` must hold `2 * src.len()` bytes;
/// returns how many it holds now.
pub fn output_block(t: &Termios, src: &[u8], dst: &mut [u8]) -> usize {
    let mut n = 0;
    for &c in src {
        output(t, c, &mut |b: &[u8]| {
            dst[n..n + b.len()].copy_from_slice(b);
            n += b.len();
        });
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    /// Types `input`, returns (the echo, the signals raised, wakes).
    fn typed(l: &mut NTty, t: &Termios, input: &[u8]) -> (Vec<u8>, Vec<u32>, usize) {
        let (mut echo, mut sigs, mut wakes) = (Vec::new(), Vec::new(), 0);
        for &c in input {
            let r = l.receive(c, t, &mut |b: &[u8]| echo.extend_from_slice(b));
            sigs.extend(r.signal);
            wakes += r.wake as usize;
        }
        (echo, sigs, wakes)
    }

    fn read_all(l: &mut NTty, t: &Termios, cap: usize) -> (Vec<u8>, bool) {
        let mut buf = alloc::vec![0u8; cap];
        let (n, done) = l.read(t, &mut buf);
        buf.truncate(n);
        (buf, done)
    }

    fn ldisc() -> Box<NTty> {
        Box::new(NTty::new())
    }

    #[test]
    fn canonical_line_with_echo() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        let (echo, sigs, wakes) = typed(&mut l, &t, b"hi\r");
        assert_eq!(echo, b"hi\r\n");
        assert!(sigs.is_empty());
        assert_eq!(wakes, 1);
        assert_eq!(read_all(&mut l, &t, 100), (b"hi\n".to_vec(), true));
        assert_eq!(read_all(&mut l, &t, 100), (Vec::new(), false));
    }

    #[test]
    fn partial_line_is_not_readable() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        typed(&mut l, &t, b"abc");
        assert!(!l.input_available(&t, true));
        assert_eq!(l.readable_bytes(&t), 0);
        assert_eq!(read_all(&mut l, &t, 100).0, b"");
    }

    #[test]
    fn erase_kill_werase() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        let (echo, _, _) = typed(&mut l, &t, b"ab\x7fc\n");
        assert_eq!(echo, b"ab\x08 \x08c\r\n");
        assert_eq!(read_all(&mut l, &t, 100).0, b"ac\n");
        let (echo, _, _) = typed(&mut l, &t, b"xy\x15z\n");
        assert_eq!(echo, b"xy\x08 \x08\x08 \x08z\r\n"); // ECHOKE: erased column by column
        assert_eq!(read_all(&mut l, &t, 100).0, b"z\n");
        typed(&mut l, &t, b"foo bar  \x17baz\n");
        assert_eq!(read_all(&mut l, &t, 100).0, b"foo baz\n");
        typed(&mut l, &t, b"a/b\x17\n");
        assert_eq!(read_all(&mut l, &t, 100).0, b"a/\n");
        // Nothing to erase: nothing echoed.
        let (echo, _, _) = typed(&mut l, &t, b"\x7f");
        assert_eq!(echo, b"");
    }

    #[test]
    fn erasing_a_control_character_takes_two_columns() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        let (echo, _, _) = typed(&mut l, &t, b"\x01\x7f");
        assert_eq!(echo, b"^A\x08 \x08\x08 \x08");
    }

    #[test]
    fn utf8_erase_takes_the_whole_character() {
        let (mut l, mut t) = (ldisc(), Termios::DEFAULT);
        t.iflag |= IUTF8;
        let (echo, _, _) = typed(&mut l, &t, "aé\x7f\n".as_bytes());
        assert!(echo.ends_with(b"\x08 \x08\r\n"));
        assert_eq!(read_all(&mut l, &t, 100).0, b"a\n");
    }

    #[test]
    fn eof() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        let (echo, _, wakes) = typed(&mut l, &t, b"\x04");
        assert_eq!((echo.len(), wakes), (0, 1));
        assert!(l.input_available(&t, true));
        assert_eq!(read_all(&mut l, &t, 100), (Vec::new(), true)); // end of file
        typed(&mut l, &t, b"abc\x04d\n");
        assert_eq!(l.readable_bytes(&t), 5);
        assert_eq!(read_all(&mut l, &t, 100), (b"abc".to_vec(), true));
        assert_eq!(read_all(&mut l, &t, 100), (b"d\n".to_vec(), true));
    }

    #[test]
    fn a_line_over_several_reads() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        typed(&mut l, &t, b"hello\nnext\n");
        assert_eq!(read_all(&mut l, &t, 2), (b"he".to_vec(), false));
        assert_eq!(read_all(&mut l, &t, 100), (b"llo\n".to_vec(), true));
        assert_eq!(read_all(&mut l, &t, 100), (b"next\n".to_vec(), true));
    }

    #[test]
    fn signals_flush_and_echo() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        let (echo, sigs, _) = typed(&mut l, &t, b"abc\x03");
        assert_eq!(echo, b"abc^C");
        assert_eq!(sigs, [SIGINT]);
        typed(&mut l, &t, b"\n");
        assert_eq!(read_all(&mut l, &t, 100).0, b"\n"); // "abc" was flushed
        let (_, sigs, _) = typed(&mut l, &t, b"\x1a\x1c");
        assert_eq!(sigs, [SIGTSTP, SIGQUIT]);
        let mut noflsh = t;
        noflsh.lflag |= NOFLSH;
        typed(&mut l, &noflsh, b"x\x03\n");
        assert_eq!(read_all(&mut l, &t, 100).0, b"x\n");
        let mut nosig = t;
        nosig.lflag &= !ISIG;
        let (_, sigs, _) = typed(&mut l, &nosig, b"\x03\n");
        assert!(sigs.is_empty());
        assert_eq!(read_all(&mut l, &t, 100).0, b"\x03\n");
    }

    #[test]
    fn raw_mode() {
        let (mut l, mut t) = (ldisc(), Termios::DEFAULT);
        t.lflag &= !(ICANON | ECHO);
        let (echo, _, wakes) = typed(&mut l, &t, b"a\x7f\x15");
        assert_eq!((echo.len(), wakes), (0, 3));
        assert!(l.input_available(&t, true));
        assert_eq!(read_all(&mut l, &t, 2).0, b"a\x7f");
        assert_eq!(read_all(&mut l, &t, 10).0, b"\x15");
        t.cc[VMIN] = 3;
        typed(&mut l, &t, b"12");
        assert!(!l.input_available(&t, true));
        assert!(l.input_available(&t, false));
    }

    #[test]
    fn input_mapping() {
        let (mut l, mut t) = (ldisc(), Termios::DEFAULT);
        t.lflag &= !ICANON;
        t.iflag = INLCR;
        typed(&mut l, &t, b"\n\r");
        assert_eq!(read_all(&mut l, &t, 10).0, b"\r\r");
        t.iflag = IGNCR | ICRNL;
        typed(&mut l, &t, b"a\rb");
        assert_eq!(read_all(&mut l, &t, 10).0, b"ab");
    }

    #[test]
    fn mode_switches() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        let mut raw = t;
        raw.lflag &= !ICANON;
        typed(&mut l, &t, b"ab");
        l.set_termios(&t, &raw);
        assert_eq!(read_all(&mut l, &raw, 10).0, b"ab");
        typed(&mut l, &raw, b"cd");
        l.set_termios(&raw, &t);
        assert_eq!(read_all(&mut l, &t, 10), (b"cd".to_vec(), true));
    }

    #[test]
    fn lnext_and_reprint() {
        let (mut l, t) = (ldisc(), Termios::DEFAULT);
        let (echo, sigs, _) = typed(&mut l, &t, b"\x16\x03\n");
        assert!(sigs.is_empty());
        assert_eq!(echo, b"^\x08^C\r\n");
        assert_eq!(read_all(&mut l, &t, 10).0, b"\x03\n");
        let (echo, _, _) = typed(&mut l, &t, b"ab\x12");
        assert_eq!(echo, b"ab^R\r\nab");
    }

    #[test]
    fn full_buffer_keeps_room_for_the_line_end() {
        let (mut l, mut t) = (ldisc(), Termios::DEFAULT);
        t.lflag &= !ECHO;
        let long = alloc::vec![b'x'; N_TTY_BUF_SIZE + 10];
        typed(&mut l, &t, &long);
        typed(&mut l, &t, b"\n");
        let (line, done) = read_all(&mut l, &t, 2 * N_TTY_BUF_SIZE);
        assert!(done);
        assert_eq!(line.len(), N_TTY_BUF_SIZE);
        assert_eq!(line.last(), Some(&b'\n'));
    }

    #[test]
    fn output_processing() {
        let t = Termios::DEFAULT;
        let mut dst = [0u8; 8];
        let n = output_block(&t, b"a\nb", &mut dst);
        assert_eq!(&dst[..n], b"a\r\nb");
        let mut raw = t;
        raw.oflag = 0;
        let n = output_block(&raw, b"a\n", &mut dst);
        assert_eq!(&dst[..n], b"a\n");
    }
}
