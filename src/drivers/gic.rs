//! GICv2 interrupt controller (ARM IHI 0048B): one distributor shared by all CPUs and a
//! CPU interface per CPU (the same addresses, banked). What this kernel uses: the timer
//! PPI on every CPU, SGI 0 as the reschedule IPI, explicit routing of SPIs to CPU 0.
//!
//! ```text
//!   CPU n: IAR ──► [ bits 12:10 source CPU (SGIs) | bits 9:0 interrupt ID ] ──► EOIR
//!                  (the whole value goes back to EOIR, source CPU included)
//!   send an SGI: SGIR = target list << 16 | SGI ID   (after `dmb ishst`, as Linux)
//! ```

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_structs! {
    DistributorRegs {
        (0x000 => ctlr: ReadWrite<u32>),
        (0x004 => _reserved0),
        (0x100 => isenabler: [ReadWrite<u32>; 32]),
        (0x180 => _reserved1),
        (0x400 => ipriorityr: [ReadWrite<u32>; 255]),
        (0x7fc => _reserved2),
        (0x800 => itargetsr: [ReadWrite<u32>; 255]),
        (0xbfc => _reserved3),
        (0xf00 => sgir: WriteOnly<u32>),
        (0xf04 => _reserved4),
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
/// IDs below 16 are SGIs (software-generated: IPIs), 16..32 PPIs (per CPU), then SPIs.
pub const FIRST_PPI: u32 = 16;
pub const FIRST_SPI: u32 = 32;

pub struct Gic {
    dist: &'static DistributorRegs,
    cpu: &'static CpuInterfaceRegs,
}

// SAFETY: the registers are MMIO. Distributor writes that configure an interrupt are
// made at boot, before other CPUs start, or to registers banked per CPU; SGIR and the
// CPU interface are designed for concurrent use by every CPU.
unsafe impl Send for Gic {}
// SAFETY: as above.
unsafe impl Sync for Gic {}

/// An acknowledged interrupt: the raw IAR value, which end of interrupt needs back.
#[derive(Clone, Copy, Debug)]
pub struct Ack(u32);

impl Ack {
    pub fn irq(self) -> u32 {
        self.0 & 0x3ff
    }
    /// For an SGI, the CPU that sent it.
    pub fn source_cpu(self) -> u32 {
        (self.0 >> 10) & 0x7
    }
}

impl Gic {
    /// Turns the distributor on (once, on the boot CPU).
    ///
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
        Gic { dist, cpu }
    }

    /// This CPU's interface: let every priority through and signal interrupts. Each CPU
    /// calls it once.
    pub fn init_cpu(&self) {
        self.cpu.pmr.set(0xff);
        self.cpu.ctlr.set(1);
    }

    /// Enables interrupt `irq` with a middle priority. SGIs and PPIs are banked: this
    /// enables them for the calling CPU only. SPIs are routed to CPU 0 explicitly (with
    /// one CPU the target registers read as zero and ignore writes; with several they
    /// decide who gets the interrupt).
    pub fn enable(&self, irq: u32) {
        let (reg, bit) = ((irq / 32) as usize, irq % 32);
        let word = (irq / 4) as usize;
        let shift = (irq % 4) * 8;
        let prio = self.dist.ipriorityr[word].get() & !(0xff << shift);
        self.dist.ipriorityr[word].set(prio | (0x80 << shift));
        if irq >= FIRST_SPI {
            let targets = self.dist.itargetsr[word].get() & !(0xff << shift);
            self.dist.itargetsr[word].set(targets | (1 << shift));
        }
        self.dist.isenabler[reg].set(1 << bit);
    }

    /// Acknowledges the highest-priority pending interrupt of this CPU.
    pub fn acknowledge(&self) -> Ack {
        Ack(self.cpu.iar.get())
    }

    /// Ends an interrupt: the whole acknowledged value goes back (for an SGI it names
    /// the sending CPU).
    pub fn end_of_interrupt(&self, ack: Ack) {
        self.cpu.eoir.set(ack.0);
    }

    /// Sends SGI `sgi` to every CPU but this one (SGIR's target-list filter 0b01).
    pub fn send_sgi_to_others(&self, sgi: u32) {
        // SAFETY: a barrier only (see send_sgi).
        unsafe { core::arch::asm!("dmb ishst") };
        self.dist.sgir.set((1 << 24) | (sgi & 0xf));
    }

    /// Sends SGI `sgi` to CPU `cpu`.
    pub fn send_sgi(&self, sgi: u32, cpu: usize) {
        // Whatever this CPU wrote before (a task queued for the target) must be visible
        // to the target before the interrupt can arrive there.
        // SAFETY: a barrier only.
        unsafe { core::arch::asm!("dmb ishst") };
        self.dist.sgir.set((1 << (16 + cpu)) | (sgi & 0xf));
    }
}
