//! The initrd's archive format: "newc" cpio (Linux init/initramfs.c, whose state machine
//! `do_header` → `do_name` → `do_copy` reads the same thing). Each entry is a 110-byte
//! header of ASCII hex fields, the NUL-terminated name, the file's bytes; name and data
//! each padded to a multiple of four. "TRAILER!!!" ends an archive; zero bytes between
//! archives are skipped, as Linux does, so archives may be concatenated.
//!
//!   "070701" ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
//!            namesize check            (13 fields × 8 hex digits)
//!
//! Written here rather than taken from a crate: the `cpio_reader` crate used before summed
//! every file's bytes for a checksum that "newc" does not have — three instructions a
//! byte, 108 million of the 124 million a boot took before init ran.

/// One entry: a name (without a leading "./" or "/"), its st_mode, its device numbers
/// (for device nodes) and its bytes (for a symlink: the target).
#[derive(Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub mode: u32,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub data: &'a [u8],
}

const HEADER_LEN: usize = 110;
const TRAILER: &str = "TRAILER!!!";

/// The entries of `archive`, in order. A malformed entry (bad magic, a field that is not
/// hex, a name or body past the end, a name that is not UTF-8) ends the walk, as Linux
/// stops with "junk within compressed archive".
pub fn entries(archive: &[u8]) -> Entries<'_> {
    Entries { rest: archive }
}

pub struct Entries<'a> {
    rest: &'a [u8],
}

/// The `i`th 8-digit hex field after the magic.
fn field(header: &[u8], i: usize) -> Option<u32> {
    let digits = header.get(6 + 8 * i..14 + 8 * i)?;
    let text = core::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        loop {
            // Padding between concatenated archives.
            while self.rest.len() >= 4 && self.rest[..4] == [0; 4] {
                self.rest = &self.rest[4..];
            }
            let header = self.rest.get(..HEADER_LEN)?;
            if &header[..6] != b"070701" && &header[..6] != b"070702" {
                self.rest = &[];
                return None;
            }
            let mode = field(header, 1)?;
            let filesize = field(header, 6)? as usize;
            let (rdev_major, rdev_minor) = (field(header, 9)?, field(header, 10)?);
            let namesize = field(header, 11)? as usize;
            let name_end = HEADER_LEN.checked_add(namesize)?;
            let data_start = align4(name_end);
            let data_end = data_start.checked_add(filesize)?;
            if namesize == 0 || data_end > self.rest.len() {
                self.rest = &[];
                return None;
            }
            let name = &self.rest[HEADER_LEN..name_end - 1]; // without the NUL
            let data = &self.rest[data_start..data_end];
            self.rest = self.rest.get(align4(data_end)..).unwrap_or(&[]);
            let name = core::str::from_utf8(name).ok()?;
            if name == TRAILER {
                continue; // another archive may follow
            }
            let name = name.trim_start_matches("./").trim_start_matches('/');
            return Some(Entry {
                name,
                mode,
                rdev_major,
                rdev_minor,
                data,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// A newc entry as `cpio -o -H newc` writes it.
    fn entry(out: &mut Vec<u8>, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        let fields = [
            1,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(std::format!("{:08X}", f).as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    #[test]
    fn reads_entries_and_concatenated_archives() {
        let mut a = Vec::new();
        entry(&mut a, ".", 0o40755, (0, 0), b"");
        entry(&mut a, "./bin/hello", 0o100755, (0, 0), b"hello world");
        entry(&mut a, "dev/console", 0o20600, (5, 1), b"");
        entry(&mut a, TRAILER, 0, (0, 0), b"");
        a.extend_from_slice(&[0; 512]); // padding, then a second archive
        entry(&mut a, "/etc/motd", 0o100644, (0, 0), b"abc");
        entry(&mut a, TRAILER, 0, (0, 0), b"");
        let all: Vec<_> = entries(&a).collect();
        let names: Vec<_> = all.iter().map(|e| e.name).collect();
        assert_eq!(names, [".", "bin/hello", "dev/console", "etc/motd"]);
        assert_eq!(all[1].data, b"hello world");
        assert_eq!(all[1].mode, 0o100755);
        assert_eq!((all[2].rdev_major, all[2].rdev_minor), (5, 1));
        assert_eq!(all[3].data, b"abc");
    }

    #[test]
    fn stops_at_junk_or_a_truncated_entry() {
        let mut a = Vec::new();
        entry(&mut a, "a", 0o100644, (0, 0), b"12345678");
        let whole = a.len();
        entry(&mut a, "b", 0o100644, (0, 0), b"x");
        // Truncated inside b's body: only a.
        assert_eq!(entries(&a[..a.len() - 4]).count(), 1);
        // Junk after a: only a.
        let mut junk = a[..whole].to_vec();
        junk.extend_from_slice(b"not an archive header at all, but long enough to be read as one................................................");
        assert_eq!(entries(&junk).map(|e| e.name).collect::<Vec<_>>(), ["a"]);
        // A size field that is not hex.
        let mut bad = a.clone();
        bad[6 + 8 * 6] = b'Z';
        assert_eq!(entries(&bad).count(), 0);
    }
}
