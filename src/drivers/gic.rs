//! GICv2 interrupt controller (ARM IHI 0048B): distributor + CPU interface. Only what a
//! single-CPU kernel needs: enable one PPI (the timer), acknowledge, end of interrupt.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite};

register_structs! {
    DistributorRegs {
        (0x000 => ctlr: ReadWrite<u32>),
        (0x004 => _reserved0),
        (0x100 => isenabler: [ReadWrite<u32>; 32]),
        (0x180 => _reserved1),
        (0x400 => ipriorityr: [ReadWrite<u32>; 255]),
        (0x7fc => _reserved2),
        (0x1000 => @END),
    }
}

register_structs! {
    CpuInterfaceRegs {
        (0x00 => ctlr: ReadWrite<u32>),
        (0x04 => pmr: ReadWrite<u32>),
        (0x08 => _reserved0),
        (0x0c => iar: ReadOnly<u32>),
        (0x10 => eoir: ReadWrite<u32>),
        (0x14 => @END),
    }
}

/// Interrupt IDs >= 1020 are special ("spurious").
pub const SPURIOUS: u32 = 1023;

pub struct Gic {
    dist: &'static DistributorRegs,
    cpu: &'static CpuInterfaceRegs,
}

// SAFETY: one CPU, IRQs masked in the kernel: the GIC is never accessed concurrently.
unsafe impl Send for Gic {}
// SAFETY: as above.
unsafe impl Sync for Gic {}

impl Gic {
    /// # Safety
    /// The addresses must be the kernel-virtual bases of a GICv2 distributor and CPU
    /// interface, used by nothing else.
    pub unsafe fn new(dist: usize, cpu: usize) -> Gic {
        // SAFETY: guaranteed by the caller; MMIO lives forever.
        let (dist, cpu) = unsafe {
            (
                &*(dist as *const DistributorRegs),
                &*(cpu as *const CpuInterfaceRegs),
            )
        };
        dist.ctlr.set(1);
        cpu.pmr.set(0xff); // let every priority through
        cpu.ctlr.set(1);
        Gic { dist, cpu }
    }

    pub fn enable(&self, irq: u32) {
        let (reg, bit) = ((irq / 32) as usize, irq % 32);
        let word = (irq / 4) as usize;
        let shift = (irq % 4) * 8;
        let prio = self.dist.ipriorityr[word].get() & !(0xff << shift);
        self.dist.ipriorityr[word].set(prio | (0x80 << shift));
        self.dist.isenabler[reg].set(1 << bit);
    }

    /// Acknowledges the highest-priority pending interrupt and returns its ID.
    pub fn acknowledge(&self) -> u32 {
        self.cpu.iar.get() & 0x3ff
    }

    pub fn end_of_interrupt(&self, irq: u32) {
        self.cpu.eoir.set(irq);
    }
}
