//! Access to user memory from the kernel (Linux: `copy_{from,to}_user`, `get_user`,
//! `put_user`). Every pointer a system call receives goes through here.
//!
//! `UserSlice::new` checks what can be checked without touching memory; the copy itself
//! runs in arch/aarch64/uaccess.S with unprivileged loads/stores, so an unmapped or
//! forbidden page faults, and the EL1 abort handler either resolves the fault (demand
//! paging, copy-on-write) or makes the copy stop early — which becomes -EFAULT here.

use crate::error::{Errno, KResult};
use crate::mm::pagetable::USER_TOP;

/// A range of user virtual memory, `[addr, addr + len)`.
///
/// Invariants checked by `new`:
/// * `addr + len` does not overflow;
/// * the whole range lies below `USER_TOP` (2^48), i.e. in TTBR0's half, so it can never
///   name kernel memory, whatever the page tables say.
///
/// Not checked (cannot be, without racing other threads): that the pages are mapped or
/// have the right permissions. The copy discovers that and returns -EFAULT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSlice {
    addr: usize,
    len: usize,
}

impl UserSlice {
    pub fn new(addr: usize, len: usize) -> KResult<UserSlice> {
        match addr.checked_add(len) {
            Some(end) if end <= USER_TOP => Ok(UserSlice { addr, len }),
            _ => Err(Errno::EFAULT),
        }
    }

    pub fn addr(&self) -> usize {
        self.addr
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(target_os = "none")]
mod copy {
    use super::*;
    use crate::arch;

    impl UserSlice {
        /// Copies the whole slice into `buf` (which must be at least `len` long).
        pub fn read_into(&self, buf: &mut [u8]) -> KResult<()> {
            if arch::copy_from_user(&mut buf[..self.len], self.addr) == 0 {
                Ok(())
            } else {
                Err(Errno::EFAULT)
            }
        }

        /// Copies `data` (at most `len` bytes) to the start of the slice.
        pub fn write_from(&self, data: &[u8]) -> KResult<()> {
            let n = data.len().min(self.len);
            if arch::copy_to_user(self.addr, &data[..n]) == 0 {
                Ok(())
            } else {
                Err(Errno::EFAULT)
            }
        }
    }

    pub fn copy_from_user(buf: &mut [u8], addr: usize) -> KResult<()> {
        UserSlice::new(addr, buf.len())?.read_into(buf)
    }

    pub fn copy_to_user(addr: usize, data: &[u8]) -> KResult<()> {
        UserSlice::new(addr, data.len())?.write_from(data)
    }

    pub fn get_user_u32(addr: usize) -> KResult<u32> {
        let mut b = [0u8; 4];
        copy_from_user(&mut b, addr)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn get_user_u64(addr: usize) -> KResult<u64> {
        let mut b = [0u8; 8];
        copy_from_user(&mut b, addr)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn put_user_u32(addr: usize, v: u32) -> KResult<()> {
        copy_to_user(addr, &v.to_le_bytes())
    }

    pub fn put_user_u64(addr: usize, v: u64) -> KResult<()> {
        copy_to_user(addr, &v.to_le_bytes())
    }

    /// A `struct timespec` from user memory, in nanoseconds; -EINVAL if malformed.
    pub fn get_timespec(addr: usize) -> KResult<u64> {
        let (sec, nsec) = (get_user_u64(addr)? as i64, get_user_u64(addr + 8)? as i64);
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(Errno::EINVAL);
        }
        Ok((sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nsec as u64))
    }

    pub fn put_timespec(addr: usize, ns: u64) -> KResult<()> {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[8..].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
        copy_to_user(addr, &b)
    }

    /// A NUL-terminated string of at most `max` bytes.
    pub fn get_user_str(addr: usize, max: usize) -> KResult<alloc::string::String> {
        let mut out = alloc::vec::Vec::new();
        for i in 0..max {
            let mut b = [0u8; 1];
            copy_from_user(&mut b, addr.checked_add(i).ok_or(Errno::EFAULT)?)?;
            if b[0] == 0 {
                return alloc::string::String::from_utf8(out).map_err(|_| Errno::EINVAL);
            }
            out.push(b[0]);
        }
        Err(Errno::ERANGE)
    }
}

#[cfg(target_os = "none")]
pub use copy::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_invariants() {
        assert!(UserSlice::new(0x1000, 16).is_ok());
        assert!(UserSlice::new(0, 0).is_ok());
        assert_eq!(UserSlice::new(USER_TOP - 8, 8).map(|s| s.len()), Ok(8));
        assert_eq!(
            UserSlice::new(USER_TOP - 8, 9),
            Err(Errno::EFAULT),
            "crosses into the kernel half"
        );
        assert_eq!(
            UserSlice::new(0xffff_0000_4020_0000, 1),
            Err(Errno::EFAULT),
            "kernel address"
        );
        assert_eq!(UserSlice::new(usize::MAX, 2), Err(Errno::EFAULT), "wraps");
    }
}
