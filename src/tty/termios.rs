//! The terminal's settings as user space sees them (Linux include/uapi/asm-generic/
//! termbits.h and ioctls.h; the defaults are drivers/tty/tty_io.c `tty_std_termios`):
//! the kernel `struct termios` that TCGETS/TCSETS copy (36 bytes, not glibc's larger one),
//! `struct winsize`, and the ioctl numbers. Pure data: no locks, no hardware.

// ioctl request numbers (include/uapi/asm-generic/ioctls.h).
pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
/// TCSETS after the output drained (ours never queues output: the same).
pub const TCSETSW: u32 = 0x5403;
/// TCSETSW and throw pending input away.
pub const TCSETSF: u32 = 0x5404;
pub const TCFLSH: u32 = 0x540B;
pub const TIOCSCTTY: u32 = 0x540E;
pub const TIOCGPGRP: u32 = 0x540F;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCOUTQ: u32 = 0x5411;
pub const TIOCSTI: u32 = 0x5412;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const FIONREAD: u32 = 0x541B;
pub const TIOCNOTTY: u32 = 0x5422;
pub const TIOCGSID: u32 = 0x5429;

// TCFLSH's argument.
pub const TCIFLUSH: usize = 0;
pub const TCOFLUSH: usize = 1;
pub const TCIOFLUSH: usize = 2;

// c_cc indices.
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSTART: usize = 8;
pub const VSTOP: usize = 9;
pub const VSUSP: usize = 10;
pub const VEOL: usize = 11;
pub const VREPRINT: usize = 12;
pub const VWERASE: usize = 14;
pub const VLNEXT: usize = 15;
pub const VEOL2: usize = 16;
pub const NCCS: usize = 19;

// c_iflag.
pub const INLCR: u32 = 0x40;
pub const IGNCR: u32 = 0x80;
pub const ICRNL: u32 = 0x100;
pub const IXON: u32 = 0x400;
pub const IUTF8: u32 = 0x4000;
// c_oflag.
pub const OPOST: u32 = 0x1;
pub const ONLCR: u32 = 0x4;
// c_cflag.
pub const B38400: u32 = 0xf;
pub const CS8: u32 = 0x30;
pub const CREAD: u32 = 0x80;
pub const HUPCL: u32 = 0x400;
// c_lflag.
pub const ISIG: u32 = 0x1;
pub const ICANON: u32 = 0x2;
pub const ECHO: u32 = 0x8;
pub const ECHOE: u32 = 0x10;
pub const ECHOK: u32 = 0x20;
pub const ECHONL: u32 = 0x40;
pub const NOFLSH: u32 = 0x80;
pub const TOSTOP: u32 = 0x100;
pub const ECHOCTL: u32 = 0x200;
pub const ECHOKE: u32 = 0x800;
pub const IEXTEN: u32 = 0x8000;

/// The kernel's `struct termios`: c_iflag@0, c_oflag@4, c_cflag@8, c_lflag@12, c_line@16,
/// c_cc[19]@17.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

/// Size of the user-visible structure.
pub const TERMIOS_SIZE: usize = 36;

impl Termios {
    /// Linux `tty_std_termios` with `INIT_C_CC`: a cooked, echoing 8-bit line.
    pub const DEFAULT: Termios = Termios {
        iflag: ICRNL | IXON,
        oflag: OPOST | ONLCR,
        cflag: B38400 | CS8 | CREAD | HUPCL,
        lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
        line: 0,
        //    INTR QUIT ERASE KILL EOF TIME MIN SWTC START STOP SUSP EOL REPRINT
        //    DISCARD WERASE LNEXT EOL2
        cc: [
            3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0,
        ],
    };

    pub fn to_bytes(&self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        for (i, w) in [self.iflag, self.oflag, self.cflag, self.lflag]
            .iter()
            .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        b[16] = self.line;
        b[17..].copy_from_slice(&self.cc);
        b
    }

    pub fn from_bytes(b: &[u8; TERMIOS_SIZE]) -> Termios {
        let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..]);
        Termios {
            iflag: word(0),
            oflag: word(4),
            cflag: word(8),
            lflag: word(12),
            line: b[16],
            cc,
        }
    }

    pub fn lflag(&self, f: u32) -> bool {
        self.lflag & f != 0
    }

    pub fn iflag(&self, f: u32) -> bool {
        self.iflag & f != 0
    }

    pub fn icanon(&self) -> bool {
        self.lflag(ICANON)
    }

    /// Whether `c` is the special character at `index` (a 0 there disables it, Linux
    /// `__DISABLED_CHAR`).
    pub fn is(&self, c: u8, index: usize) -> bool {
        self.cc[index] == c && c != 0
    }
}

/// `struct winsize` {ws_row, ws_col, ws_xpixel, ws_ypixel}, u16 each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Winsize(pub [u16; 4]);

impl Winsize {
    /// 24×80: busybox and musl's isatty treat 0×0 as "no terminal size".
    pub const DEFAULT: Winsize = Winsize([24, 80, 0, 0]);

    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        for (i, v) in self.0.iter().enumerate() {
            b[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8; 8]) -> Winsize {
        Winsize(core::array::from_fn(|i| {
            u16::from_le_bytes([b[i * 2], b[i * 2 + 1]])
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_linuxs() {
        let t = Termios::DEFAULT;
        assert_eq!(
            (t.iflag, t.oflag, t.cflag, t.lflag),
            (0x500, 0x5, 0x4bf, 0x8a3b)
        );
        assert_eq!(Termios::from_bytes(&t.to_bytes()), t);
        assert_eq!(t.to_bytes()[17 + VERASE], 127);
    }

    #[test]
    fn winsize_round_trip() {
        let w = Winsize([30, 100, 1, 2]);
        assert_eq!(Winsize::from_bytes(&w.to_bytes()), w);
        assert_eq!(Winsize::DEFAULT.to_bytes()[..4], [24, 0, 80, 0]);
    }
}
