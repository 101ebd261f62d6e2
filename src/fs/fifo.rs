//! FIFOs (named pipes, Linux fs/pipe.c `fifo_open`): a FIFO inode made by mknod(S_IFIFO)
//! gets a pipe when it is first opened; the pipe goes away when the last reader and
//! writer have closed it. Opening blocks until the other side is there: for reading,
//! until a writer opens (unless O_NONBLOCK); for writing, until a reader opens (with
//! O_NONBLOCK and no reader: ENXIO); O_RDWR never blocks.

use alloc::sync::Arc;

use super::file::{O_ACCMODE, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};
use super::inode::{Inode, Kind};
use super::pipe::{self, Pipe};
use crate::error::{Errno, KResult};
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use crate::sync::wait::{self, WaitChan, WakeReason};

#[derive(Default)]
pub struct FifoState {
    pipe: Option<Arc<Pipe>>,
    readers: usize,
    writers: usize,
    /// Opens so far of each kind: a sleeping opener waits for the other count to move
    /// (a partner that opened and closed again still releases it, as on Linux).
    read_opens: u64,
    write_opens: u64,
}

pub struct Fifo(OrderedMutex<FifoState>);

impl Fifo {
    pub fn new() -> Fifo {
        Fifo(OrderedMutex::new(Level::Process, FifoState::default()))
    }
}

impl Default for Fifo {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens FIFO `inode` with `flags`; returns its pipe, with the ends counted, and the
/// file's version for poll (Linux `f_version`): a reader opened with O_NONBLOCK while no
/// writer is there gets POLLHUP only after a writer came (and went).
pub fn open(inode: &Arc<Inode>, flags: u32) -> KResult<(Arc<Pipe>, u64)> {
    let Kind::Fifo(fifo) = &inode.kind else {
        return Err(Errno::EINVAL);
    };
    let chan = WaitChan::FifoOpen(inode.ino);
    let mode = flags & O_ACCMODE;
    let nonblock = flags & O_NONBLOCK != 0;
    let (pipe, seen) = {
        let mut f = fifo.0.lock();
        if mode == O_WRONLY && nonblock && f.readers == 0 {
            return Err(Errno::ENXIO);
        }
        let pipe = match &f.pipe {
            Some(p) => p.clone(),
            None => {
                super::heap_precheck(size_of::<Pipe>() + 16)?;
                let p = Arc::new(Pipe::new_fifo(&pipe::FRAME_PAGES));
                f.pipe = Some(p.clone());
                p
            }
        };
        if mode != O_WRONLY {
            f.readers += 1;
            f.read_opens += 1;
        }
        if mode != O_RDONLY {
            f.writers += 1;
            f.write_opens += 1;
        }
        (pipe, (f.read_opens, f.write_opens, f.readers, f.writers))
    };
    if mode != O_WRONLY {
        pipe.open_end(false);
    }
    if mode != O_RDONLY {
        pipe.open_end(true);
    }
    wait::wakeup(chan);
    let version = if mode == O_RDONLY && nonblock && seen.3 == 0 {
        pipe.w_counter()
    } else {
        0
    };
    // Wait for a partner (Linux `wait_for_partner`).
    let wait_for_writer = mode == O_RDONLY && !nonblock && seen.3 == 0;
    let wait_for_reader = mode == O_WRONLY && seen.2 == 0;
    if mode != O_RDWR && (wait_for_writer || wait_for_reader) {
        loop {
            let seq = wait::prepare(chan);
            {
                let f = fifo.0.lock();
                if (wait_for_writer && f.write_opens != seen.1)
                    || (wait_for_reader && f.read_opens != seen.0)
                {
                    break;
                }
            }
            let why = wait::sleep_interruptible(chan, None, seq);
            if why.by_signal() {
                release(inode, &pipe, flags);
                return Err(if why == WakeReason::Killed {
                    Errno::EINTR
                } else {
                    Errno::ERESTARTSYS
                });
            }
        }
    }
    Ok((pipe, version))
}

/// A FIFO file opened with `flags` was closed.
pub fn release(inode: &Arc<Inode>, pipe: &Arc<Pipe>, flags: u32) {
    let mode = flags & O_ACCMODE;
    if mode != O_WRONLY {
        pipe.close_end(false);
    }
    if mode != O_RDONLY {
        pipe.close_end(true);
    }
    let Kind::Fifo(fifo) = &inode.kind else {
        return;
    };
    let gone = {
        let mut f = fifo.0.lock();
        if mode != O_WRONLY {
            f.readers -= 1;
        }
        if mode != O_RDONLY {
            f.writers -= 1;
        }
        if f.readers == 0 && f.writers == 0 {
            f.pipe.take()
        } else {
            None
        }
    };
    drop(gone); // the buffered bytes are discarded, as on Linux
}
