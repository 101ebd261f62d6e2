//! std's threads on this kernel (musl: clone, futex, mmap'd stacks, TLS): a Mutex counter
//! from 4 threads; a Condvar hand-off in both directions; mpsc channels (4 senders, one
//! receiver; a bounded sync_channel that blocks the sender); RwLock, Barrier, scoped
//! threads borrowing the stack, thread names and thread-local storage; a thread that
//! panics is caught by join, with its message, and the Mutex it poisoned says so.

use std::cell::Cell;
use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex, RwLock};
use std::thread;
use std::time::Duration;

const T: &str = "std_threads";

#[macro_use]
#[path = "../check.rs"]
mod check;
use check::fail;

fn mutex_counter() {
    const THREADS: usize = 4;
    const N: usize = 20_000;
    let counter = Arc::new(Mutex::new(0usize));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let c = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..N {
                    *c.lock().unwrap() += 1;
                }
                i * 10
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let r = h.join();
        check!(
            matches!(r, Ok(v) if v == i * 10),
            "join value of thread {i}"
        );
    }
    let total = *counter.lock().unwrap();
    check!(
        total == THREADS * N,
        "counter {total}, want {}",
        THREADS * N
    );
}

/// Ping-pong through one Mutex<u32> and a Condvar: each side waits for its turn.
fn condvar_pingpong() {
    const ROUNDS: u32 = 1000;
    let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
    let other = Arc::clone(&pair);
    let h = thread::spawn(move || {
        let (m, cv) = &*other;
        for i in 0..ROUNDS {
            let mut v = cv
                .wait_while(m.lock().unwrap(), |v| *v != 2 * i + 1)
                .unwrap();
            *v += 1;
            cv.notify_one();
        }
    });
    let (m, cv) = &*pair;
    for i in 0..ROUNDS {
        let mut v = cv.wait_while(m.lock().unwrap(), |v| *v != 2 * i).unwrap();
        *v += 1;
        cv.notify_one();
    }
    h.join().unwrap();
    check!(
        *m.lock().unwrap() == 2 * ROUNDS,
        "pingpong ended at {}",
        *m.lock().unwrap()
    );
    // A timed wait that nobody notifies times out.
    let (g, res) = cv
        .wait_timeout(m.lock().unwrap(), Duration::from_millis(20))
        .unwrap();
    check!(res.timed_out() && *g == 2 * ROUNDS, "wait_timeout");
}

fn channels() {
    const SENDERS: u64 = 4;
    const N: u64 = 2500;
    let (tx, rx) = mpsc::channel::<(u64, u64)>();
    for s in 0..SENDERS {
        let tx = tx.clone();
        thread::spawn(move || {
            for i in 0..N {
                tx.send((s, i)).unwrap();
            }
        });
    }
    drop(tx);
    let mut next = [0u64; SENDERS as usize];
    let mut count = 0;
    // Ends when every sender is dropped; each sender's messages arrive in order.
    for (s, i) in rx {
        check!(
            next[s as usize] == i,
            "sender {s}: got {i}, want {}",
            next[s as usize]
        );
        next[s as usize] += 1;
        count += 1;
    }
    check!(count == SENDERS * N, "received {count}");

    // A rendezvous channel: the sender blocks until each value is taken.
    let (tx, rx) = mpsc::sync_channel::<u32>(0);
    let sent = Arc::new(AtomicUsize::new(0));
    let s2 = Arc::clone(&sent);
    let h = thread::spawn(move || {
        for i in 0..100 {
            tx.send(i).unwrap();
            s2.fetch_add(1, Ordering::SeqCst);
        }
    });
    thread::sleep(Duration::from_millis(20));
    check!(
        sent.load(Ordering::SeqCst) == 0,
        "a rendezvous send returned with no receiver"
    );
    let got: Vec<u32> = rx.iter().collect();
    h.join().unwrap();
    check!(got == (0..100).collect::<Vec<_>>(), "sync_channel values");
    let (tx, rx) = mpsc::channel::<u8>();
    drop(rx);
    check!(tx.send(1).is_err(), "send to a dropped receiver");
}

thread_local!(static TLS: Cell<u32> = const { Cell::new(5) });

fn primitives() {
    let lock = Arc::new(RwLock::new(vec![1, 2, 3]));
    let barrier = Arc::new(Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let (lock, barrier) = (Arc::clone(&lock), Arc::clone(&barrier));
            thread::Builder::new()
                .name(format!("worker-{i}"))
                .spawn(move || {
                    check!(TLS.with(Cell::get) == 5, "thread-local starts at 5");
                    TLS.with(|c| c.set(100 + i));
                    let name = thread::current().name().map(str::to_owned);
                    check!(
                        name.as_deref() == Some(&*format!("worker-{i}")),
                        "name {name:?}"
                    );
                    let sum: i32 = lock.read().unwrap().iter().sum();
                    barrier.wait(); // all three have read before anyone writes
                    lock.write().unwrap().push(sum);
                    check!(TLS.with(Cell::get) == 100 + i, "thread-local overwritten");
                })
                .unwrap()
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    check!(TLS.with(Cell::get) == 5, "main's thread-local changed");
    check!(
        *lock.read().unwrap() == [1, 2, 3, 6, 6, 6],
        "rwlock contents"
    );

    // Scoped threads borrow the caller's stack.
    let mut parts = [0u64; 4];
    let data: Vec<u64> = (1..=4000).collect();
    thread::scope(|s| {
        for (part, chunk) in parts.iter_mut().zip(data.chunks(1000)) {
            s.spawn(move || *part = chunk.iter().sum());
        }
    });
    check!(
        parts.iter().sum::<u64>() == 4000 * 4001 / 2,
        "scoped sums {parts:?}"
    );
    let n = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    check!(n >= 1, "available_parallelism");
}

fn panics() {
    // The default hook would print the message; keep it to check it.
    let seen = Arc::new(Mutex::new(String::new()));
    let seen2 = Arc::clone(&seen);
    panic::set_hook(Box::new(move |info| {
        let name = thread::current().name().unwrap_or("?").to_owned();
        *seen2.lock().unwrap() = format!("{name}: {}", info.payload_as_str().unwrap_or("?"));
    }));
    let m = Arc::new(Mutex::new(1));
    let m2 = Arc::clone(&m);
    let r = thread::Builder::new()
        .name("doomed".into())
        .spawn(move || {
            let _g = m2.lock().unwrap();
            let v: Vec<u32> = Vec::new();
            if v.is_empty() {
                panic!("thread panicked on purpose: {}", 42);
            }
        })
        .unwrap()
        .join();
    let payload = match r {
        Ok(()) => fail("join of a panicking thread returned Ok".into()),
        Err(p) => p,
    };
    // A String, or a &str when the message is known at compile time (as here).
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    check!(msg == "thread panicked on purpose: 42", "payload {msg:?}");
    check!(
        *seen.lock().unwrap() == "doomed: thread panicked on purpose: 42",
        "hook saw {:?}",
        seen.lock().unwrap()
    );
    check!(
        m.is_poisoned() && m.lock().is_err(),
        "the mutex held across the panic is not poisoned"
    );
    // Catching a panic on this thread; the process goes on.
    let r = panic::catch_unwind(|| {
        let v = [1, 2, 3];
        v[std::hint::black_box(7)]
    });
    check!(r.is_err(), "index out of bounds did not panic");
    let seen_now = seen.lock().unwrap().clone();
    check!(
        seen_now.starts_with("main: index out of bounds"),
        "hook saw {seen_now:?}"
    );
    let _ = panic::take_hook();
}

fn main() {
    mutex_counter();
    condvar_pingpong();
    channels();
    primitives();
    panics();
    println!("{T}: ok");
}
