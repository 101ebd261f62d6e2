//! A spin lock that knows its place in the lock order (Linux's lockdep, reduced to one
//! rule). Each `OrderedMutex` has a `Level` from the list in sync/mod.rs; a CPU may take
//! a lock only if every lock it already holds has a *lower* level. In kernels built with
//! debug assertions (`PROFILE=dev`, which `make test` runs too) every acquisition is
//! checked against the levels this CPU holds, so an inversion panics with both lock
//! names the first time the code path runs — on one CPU, without the unlucky timing a
//! real deadlock needs. Release builds compile the check away.

use core::ops::{Deref, DerefMut};

use super::Level;

pub struct OrderedMutex<T> {
    level: Level,
    inner: spin::mutex::Mutex<T, WaitYield>,
}

/// How a CPU waits for a busy lock: the `yield` hint between two looks at the lock word
/// (Linux arm64 waits with `wfe`). On hardware it tells the core (or an SMT sibling) that
/// nothing useful happens here; under QEMU, and under a hypervisor, it gives the host
/// thread to another vCPU — the lock holder, which may have been descheduled. Spinning
/// with `isb` instead (`core::hint::spin_loop`) let a waiter spin through its whole turn,
/// millions of instructions, while the holder could not run (docs/benchmarks.md).
pub struct WaitYield;

impl spin::RelaxStrategy for WaitYield {
    #[inline(always)]
    fn relax() {
        #[cfg(target_arch = "aarch64")]
        // SAFETY: a hint instruction; no effect on memory or registers.
        unsafe {
            core::arch::asm!("yield", options(nomem, nostack, preserves_flags))
        };
        #[cfg(not(target_arch = "aarch64"))]
        core::hint::spin_loop();
    }
}

impl<T> OrderedMutex<T> {
    pub const fn new(level: Level, value: T) -> OrderedMutex<T> {
        OrderedMutex {
            level,
            inner: spin::mutex::Mutex::new(value),
        }
    }

    /// Spins until the lock is free (checking the order first, see the module comment).
    #[inline]
    pub fn lock(&self) -> OrderedGuard<'_, T> {
        held::acquire(self.level, true);
        OrderedGuard {
            level: self.level,
            guard: self.inner.lock(),
            _not_send: core::marker::PhantomData,
        }
    }

    /// Takes the lock if it is free. Cannot deadlock, so the order is not checked; the
    /// lock still counts as held.
    #[inline]
    pub fn try_lock(&self) -> Option<OrderedGuard<'_, T>> {
        let guard = self.inner.try_lock()?;
        held::acquire(self.level, false);
        Some(OrderedGuard {
            level: self.level,
            guard,
            _not_send: core::marker::PhantomData,
        })
    }

    /// Exclusive access without locking (the owner has `&mut`).
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.get_mut()
    }
}

/// A held `OrderedMutex`; not `Send`: the level is recorded on this CPU.
pub struct OrderedGuard<'a, T> {
    level: Level,
    guard: spin::mutex::MutexGuard<'a, T>,
    _not_send: core::marker::PhantomData<*const ()>,
}

impl<T> Deref for OrderedGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for OrderedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for OrderedGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        held::release(self.level);
    }
}

/// The levels this CPU holds, as a bit mask in its per-CPU area (checked kernels only).
#[cfg(all(target_os = "none", debug_assertions))]
mod held {
    use super::Level;
    use crate::arch::percpu::this_cpu;

    pub fn acquire(level: Level, check: bool) {
        let cpu = this_cpu();
        let held = cpu.lock_levels.get();
        let bit = 1u32 << level as u32;
        if check && held & !(bit - 1) != 0 {
            violation(level, held);
        }
        cpu.lock_levels.set(held | bit);
    }

    pub fn release(level: Level) {
        let cpu = this_cpu();
        cpu.lock_levels
            .set(cpu.lock_levels.get() & !(1 << level as u32));
    }

    #[cold]
    fn violation(level: Level, held: u32) -> ! {
        let worst = 31 - held.leading_zeros();
        panic!(
            "lock order violation: taking {:?} (level {}) while holding {:?} (level {}); \
             see the lock order in src/sync/mod.rs",
            level,
            level as u32,
            Level::from_bit(worst),
            worst
        );
    }
}

#[cfg(not(all(target_os = "none", debug_assertions)))]
mod held {
    use super::Level;

    #[inline(always)]
    pub fn acquire(_: Level, _: bool) {}

    #[inline(always)]
    pub fn release(_: Level) {}
}

/// One step of a busy-wait that is not on a lock (a task's `on_cpu`): the same hint.
#[inline(always)]
pub fn cpu_relax() {
    <WaitYield as spin::RelaxStrategy>::relax();
}

/// The levels held by this CPU (0 in unchecked builds): `schedule()` asserts it holds
/// none.
pub fn held_levels() -> u32 {
    #[cfg(all(target_os = "none", debug_assertions))]
    {
        crate::arch::percpu::this_cpu().lock_levels.get()
    }
    #[cfg(not(all(target_os = "none", debug_assertions)))]
    {
        0
    }
}
