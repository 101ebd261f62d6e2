//! The kernel's random numbers (Linux drivers/char/random.c): one ChaCha20 generator
//! (the `rand_chacha` crate, as Linux's "crng" is ChaCha20 too), seeded once at boot and
//! shared by getrandom(2), /dev/random, /dev/urandom and the AT_RANDOM bytes of every
//! exec.
//!
//! **Seeding** (Linux `add_bootloader_randomness`, `random_init`): the device tree's
//! /chosen `rng-seed` (QEMU puts 32 bytes from the host's generator there) and
//! `kaslr-seed` (8 more), mixed with the low bits of counter readings taken around
//! small amounts of work (timing jitter; the only source on a machine without a seed).
//! Each input is XORed into the 32-byte key: XOR with anything cannot make a uniformly
//! random key less random, so one good source suffices. ChaCha20 then turns the key into
//! a stream no one can predict without it. There is no reseeding: the kernel never runs
//! long enough here for it to matter, and a teaching kernel has no entropy pool to feed.
//!
//! Unlike early Linux, the generator is always "ready" once boot seeded it, so
//! getrandom never blocks and GRND_RANDOM draws from the same stream (as Linux 5.6+).

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use crate::error::KResult;
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;

/// The generator; None until `init` (a use before that seeds it from jitter alone).
static CRNG: OrderedMutex<Option<ChaCha20Rng>> = OrderedMutex::new(Level::Ids, None);

/// Bytes made per lock hold: the lock is never held across a copy to user memory.
const CHUNK: usize = 256;

/// XORs `input` into `key`, cycling over the key.
fn mix(key: &mut [u8; 32], input: &[u8]) {
    for (i, b) in input.iter().enumerate() {
        key[i % 32] ^= b;
    }
}

/// Mixes in 64 counter readings, each after a little work whose duration varies with
/// caches, interrupts and the host (Linux's `try_to_generate_entropy` in spirit).
fn mix_jitter(key: &mut [u8; 32]) {
    let mut spin = 0u64;
    for i in 0..64 {
        let t = counter();
        for _ in 0..(t & 0x3f) {
            spin = core::hint::black_box(spin.wrapping_mul(31).wrapping_add(t));
        }
        key[i % 32] ^= (t ^ spin) as u8;
    }
}

fn counter() -> u64 {
    #[cfg(target_os = "none")]
    {
        crate::arch::timer::counter()
    }
    #[cfg(not(target_os = "none"))]
    {
        use core::sync::atomic::{AtomicU64, Ordering};
        static FAKE: AtomicU64 = AtomicU64::new(0x1234_5678);
        FAKE.fetch_add(0x9e37_79b9, Ordering::Relaxed)
    }
}

/// Seeds the generator from the boot loader's seeds (the device tree's /chosen
/// `rng-seed` bytes and `kaslr-seed`, each possibly empty) and counter jitter.
pub fn init(seeds: &[&[u8]]) {
    let mut key = [0u8; 32];
    for seed in seeds {
        mix(&mut key, seed);
    }
    mix_jitter(&mut key);
    *CRNG.lock() = Some(ChaCha20Rng::from_seed(key));
}

/// Fills `buf` from the generator (Linux `get_random_bytes`). Never sleeps.
pub fn get_random_bytes(buf: &mut [u8]) {
    let mut crng = CRNG.lock();
    let rng = crng.get_or_insert_with(|| {
        let mut key = [0u8; 32];
        mix_jitter(&mut key);
        ChaCha20Rng::from_seed(key)
    });
    rng.fill_bytes(buf);
}

/// Produces `len` random bytes for a caller that copies them out with `put` (to user
/// memory at `addr`: it may fault), a chunk at a time (Linux `get_random_bytes_user`).
/// Chunks end at multiples of CHUNK in `addr`'s space, so at every page boundary: a
/// fault on a page loses nothing copied before it. Stops early when `stop` says so
/// before a later chunk (a pending signal). Returns the bytes `put` took; a failure of
/// the first `put` is the result, a later one ends the copy.
pub fn fill_with(
    addr: usize,
    len: usize,
    mut put: impl FnMut(&[u8]) -> KResult<()>,
    mut stop: impl FnMut() -> bool,
) -> KResult<usize> {
    let mut done = 0;
    let mut chunk = [0u8; CHUNK];
    while done < len {
        if done > 0 && stop() {
            break;
        }
        let to_boundary = CHUNK - addr.wrapping_add(done) % CHUNK;
        let n = (len - done).min(to_boundary);
        get_random_bytes(&mut chunk[..n]);
        if let Err(e) = put(&chunk[..n]) {
            if done == 0 {
                return Err(e);
            }
            break;
        }
        done += n;
    }
    // Linux wipes its copy of the output: no later stack reader sees the bytes.
    chunk.fill(0);
    core::hint::black_box(&chunk);
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_output_differs_between_reads() {
        init(&[b"a test seed of thirty-two bytes!", &7u64.to_le_bytes()]);
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        get_random_bytes(&mut a);
        get_random_bytes(&mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0u8; 32]);
    }

    #[test]
    fn fill_with_chunks_and_stops() {
        let mut got = 0;
        assert_eq!(
            fill_with(
                0,
                1000,
                |c| {
                    got += c.len();
                    Ok(())
                },
                || false
            ),
            Ok(1000)
        );
        assert_eq!(got, 1000);
        // A stop is only seen after the first chunk, which ends at a CHUNK boundary.
        assert_eq!(fill_with(0, 1000, |_| Ok(()), || true), Ok(CHUNK));
        assert_eq!(fill_with(CHUNK - 10, 1000, |_| Ok(()), || true), Ok(10));
        // A fault on the first chunk is the error; on a later one, a short count.
        let err = crate::error::Errno::EFAULT;
        assert_eq!(fill_with(0, 1000, |_| Err(err), || false), Err(err));
        let mut calls = 0;
        let r = fill_with(
            0,
            1000,
            |_| {
                calls += 1;
                if calls == 3 { Err(err) } else { Ok(()) }
            },
            || false,
        );
        assert_eq!(r, Ok(2 * CHUNK));
    }
}
