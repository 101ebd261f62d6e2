//! Pipes (Linux fs/pipe.c): a 4 KiB ring shared by a read end and a write end. Reading an
//! empty pipe sleeps until data or until every write end is closed (then 0 = EOF);
//! writing to a pipe whose read ends are all closed is -EPIPE.

use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicUsize, Ordering};

use spin::Mutex;

use crate::sync::wait::{self, WaitChan};

pub const PIPE_BUF: usize = 4096;

pub struct Pipe {
    pub id: usize,
    pub inner: Mutex<PipeInner>,
}

pub struct PipeInner {
    pub buf: VecDeque<u8>,
    pub readers: usize,
    pub writers: usize,
}

static PIPE_IDS: AtomicUsize = AtomicUsize::new(1);

impl Pipe {
    pub fn new() -> Pipe {
        Pipe {
            id: PIPE_IDS.fetch_add(1, Ordering::Relaxed),
            inner: Mutex::new(PipeInner {
                buf: VecDeque::new(),
                readers: 1,
                writers: 1,
            }),
        }
    }

    pub fn close_end(&self, write: bool) {
        {
            let mut p = self.inner.lock();
            if write {
                p.writers -= 1;
            } else {
                p.readers -= 1;
            }
        }
        wait::wakeup(WaitChan::Pipe(self.id));
    }
}

impl Default for Pipe {
    fn default() -> Self {
        Self::new()
    }
}
