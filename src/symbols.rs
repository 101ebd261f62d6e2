//! Kernel symbols for crash reports, from the System.map in the initrd (as Linux's
//! System.map: "address type name" per line, made by llvm-nm at build time).

/// The function containing `addr` and the offset into it.
pub fn lookup(addr: usize) -> Option<(&'static str, usize)> {
    let map = core::str::from_utf8(crate::initrd::system_map()?).ok()?;
    map.lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let a = usize::from_str_radix(it.next()?, 16).ok()?;
            let kind = it.next()?;
            let name = it.next()?;
            (matches!(kind, "T" | "t") && a <= addr).then_some((a, name))
        })
        .max_by_key(|(a, _)| *a)
        .map(|(a, name)| (name, addr - a))
}
