//! std::time on this kernel (musl's clock_gettime through the vDSO, nanosleep):
//! Instant never goes backwards (read in a loop by 4 threads at once, and across
//! sleeps); SystemTime is after 2024 and moves with Instant; thread::sleep sleeps at
//! least as long as asked and not absurdly longer (generous bounds: the machine is
//! emulated and shared); Duration arithmetic and checked_* at the edges.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const T: &str = "std_time";

#[macro_use]
#[path = "../check.rs"]
mod check;

fn monotonic() {
    let handles: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(|| {
                let mut last = Instant::now();
                let mut backwards = 0;
                for _ in 0..100_000 {
                    let now = Instant::now();
                    backwards += (now < last) as u32;
                    last = now;
                }
                backwards
            })
        })
        .collect();
    for h in handles {
        let b = h.join().unwrap();
        check!(b == 0, "Instant went backwards {b} times");
    }
}

fn wall_clock() {
    // 2024-01-01T00:00:00Z.
    let y2024 = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
    let now = SystemTime::now();
    check!(now > y2024, "SystemTime::now() {now:?} is before 2024");
    let since = now.duration_since(UNIX_EPOCH).unwrap();
    check!(since.as_secs() < 4_102_444_800, "after 2100: {since:?}");
    check!(
        y2024.duration_since(now).is_err(),
        "duration_since a later time"
    );
    // Wall clock and Instant advance together across a sleep.
    let (s0, i0) = (SystemTime::now(), Instant::now());
    thread::sleep(Duration::from_millis(100));
    let (s1, i1) = (SystemTime::now(), Instant::now());
    let ds = s1.duration_since(s0).unwrap();
    let di = i1 - i0;
    let diff = ds.abs_diff(di);
    check!(
        diff < Duration::from_millis(50),
        "wall {ds:?} vs monotonic {di:?}"
    );
}

fn sleeps() {
    for ms in [1u64, 10, 50, 200] {
        let want = Duration::from_millis(ms);
        let t0 = Instant::now();
        thread::sleep(want);
        let took = t0.elapsed();
        check!(took >= want, "sleep({want:?}) took only {took:?}");
        check!(
            took < want + Duration::from_millis(500),
            "sleep({want:?}) took {took:?}"
        );
    }
    let t0 = Instant::now();
    thread::sleep(Duration::ZERO);
    check!(t0.elapsed() < Duration::from_millis(500), "sleep(0)");
    // Four threads sleeping 100 ms at once take about 100 ms, not 400.
    let t0 = Instant::now();
    let hs: Vec<_> = (0..4)
        .map(|_| thread::spawn(|| thread::sleep(Duration::from_millis(100))))
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let took = t0.elapsed();
    check!(
        took >= Duration::from_millis(100) && took < Duration::from_millis(350),
        "4 parallel sleeps of 100 ms took {took:?}"
    );
}

fn durations() {
    let i = Instant::now();
    check!(
        i.checked_add(Duration::from_secs(1)).is_some(),
        "checked_add"
    );
    check!(
        i.checked_add(Duration::MAX).is_none(),
        "Instant + Duration::MAX"
    );
    check!(
        (i + Duration::from_millis(5)).duration_since(i) == Duration::from_millis(5),
        "add/since"
    );
    check!(
        i.saturating_duration_since(i + Duration::from_secs(1)) == Duration::ZERO,
        "saturating"
    );
    check!(
        Duration::from_secs_f64(1.5) == Duration::new(1, 500_000_000),
        "from_secs_f64"
    );
    check!(
        Duration::MAX.checked_add(Duration::from_nanos(1)).is_none(),
        "Duration overflow"
    );
    check!(
        Duration::from_millis(1500).as_secs_f64() == 1.5,
        "as_secs_f64"
    );
}

fn main() {
    monotonic();
    wall_clock();
    sleeps();
    durations();
    println!("{T}: ok");
}
