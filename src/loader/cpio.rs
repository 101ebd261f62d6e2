//! The initrd: a "newc" cpio archive (Linux: init/initramfs.c; format: man 5 cpio).
//!
//! ```text
//!  "070701" + 13 fields of 8 hex digits (ino mode uid gid nlink mtime filesize ...
//!  namesize check), the name (NUL-terminated, padded to 4), the data (padded to 4);
//!  the last entry is named "TRAILER!!!".
//! ```

#[derive(Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub mode: u32,
    pub data: &'a [u8],
}

impl Entry<'_> {
    pub fn is_dir(&self) -> bool {
        self.mode & 0o170000 == 0o040000
    }
}

const HEADER_LEN: usize = 110;

fn hex_field(header: &[u8], index: usize) -> Option<usize> {
    let field = header.get(6 + index * 8..6 + index * 8 + 8)?;
    usize::from_str_radix(core::str::from_utf8(field).ok()?, 16).ok()
}

fn align4(x: usize) -> usize {
    (x + 3) & !3
}

/// Iterates the entries of `archive`; stops at the trailer or at the first malformed entry.
pub fn entries(archive: &[u8]) -> impl Iterator<Item = Entry<'_>> {
    let mut offset = 0;
    core::iter::from_fn(move || {
        let header = archive.get(offset..offset + HEADER_LEN)?;
        if &header[..6] != b"070701" {
            return None;
        }
        let mode = hex_field(header, 1)? as u32;
        let file_size = hex_field(header, 6)?;
        let name_size = hex_field(header, 11)?;
        let name_start = offset + HEADER_LEN;
        let name_bytes = archive.get(name_start..name_start + name_size.checked_sub(1)?)?;
        let name = core::str::from_utf8(name_bytes).ok()?;
        let data_start = align4(name_start + name_size);
        let data = archive.get(data_start..data_start.checked_add(file_size)?)?;
        if name == "TRAILER!!!" {
            return None;
        }
        offset = align4(data_start + file_size);
        Some(Entry {
            name: name.trim_start_matches("./").trim_start_matches('/'),
            mode,
            data,
        })
    })
}

/// Finds a file by path ("init", "/bin/forktest" and "bin/forktest" are all accepted).
pub fn find<'a>(archive: &'a [u8], path: &str) -> Option<&'a [u8]> {
    let path = path.trim_start_matches('/');
    entries(archive)
        .find(|e| e.name == path && !e.is_dir())
        .map(|e| e.data)
}

#[cfg(test)]
pub(crate) fn build_archive(files: &[(&str, u32, &[u8])]) -> std::vec::Vec<u8> {
    let mut out = std::vec::Vec::new();
    let mut push = |name: &str, mode: u32, data: &[u8]| {
        let header = std::format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    };
    for (name, mode, data) in files {
        push(name, *mode, data);
    }
    push("TRAILER!!!", 0, &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_files_and_directories() {
        let a = build_archive(&[
            ("bin", 0o040755, b""),
            ("bin/hello", 0o100755, b"ELF..."),
            ("init", 0o100755, b"x"),
        ]);
        let names: std::vec::Vec<_> = entries(&a).map(|e| (e.name, e.is_dir())).collect();
        assert_eq!(
            names,
            [("bin", true), ("bin/hello", false), ("init", false)]
        );
        assert_eq!(find(&a, "/bin/hello"), Some(&b"ELF..."[..]));
        assert_eq!(find(&a, "init"), Some(&b"x"[..]));
        assert_eq!(find(&a, "bin"), None, "directories are not files");
        assert_eq!(find(&a, "nope"), None);
    }

    #[test]
    fn truncated_archive_stops_cleanly() {
        let a = build_archive(&[("init", 0o100755, b"0123456789")]);
        for cut in 0..a.len() {
            let _ = entries(&a[..cut]).count(); // must not panic
        }
        assert_eq!(entries(&a[..120]).count(), 0);
        assert_eq!(entries(b"garbage").count(), 0);
    }
}
