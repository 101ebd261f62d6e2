//! ARM PrimeCell PL011 UART (ARM DDI 0183): polled output, interrupt-driven input. The
//! receive interrupt (RX: the FIFO holds bytes; RT, receive timeout: bytes wait and no
//! more came) is level-triggered: it stays raised until the bytes are read, so the
//! handler empties the receive FIFO and then clears the timeout condition.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::register_bitfields;
use tock_registers::register_structs;
use tock_registers::registers::{ReadOnly, ReadWrite, WriteOnly};

register_bitfields! {u32,
    FR [
        /// Transmit FIFO full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// Receive FIFO empty.
        RXFE OFFSET(4) NUMBITS(1) []
    ],
    CR [
        RXE OFFSET(9) NUMBITS(1) [],
        TXE OFFSET(8) NUMBITS(1) [],
        UARTEN OFFSET(0) NUMBITS(1) []
    ],
    /// The interrupt bits, at the same place in IMSC (enable), MIS (raised and enabled)
    /// and ICR (clear).
    INT [
        /// Receive timeout.
        RT OFFSET(6) NUMBITS(1) [],
        /// Receive.
        RX OFFSET(4) NUMBITS(1) []
    ]
}

register_structs! {
    Registers {
        (0x00 => dr: ReadWrite<u32>),
        (0x04 => _reserved0),
        (0x18 => fr: ReadOnly<u32, FR::Register>),
        (0x1c => _reserved1),
        (0x30 => cr: WriteOnly<u32, CR::Register>),
        (0x34 => _reserved2),
        (0x38 => imsc: ReadWrite<u32, INT::Register>),
        (0x3c => _reserved3),
        (0x44 => icr: WriteOnly<u32, INT::Register>),
        (0x48 => @END),
    }
}

pub struct Pl011 {
    regs: &'static Registers,
}

// SAFETY: the UART is only driven through the console Mutex, one access at a time.
unsafe impl Send for Pl011 {}
// SAFETY: as above.
unsafe impl Sync for Pl011 {}

impl Pl011 {
    /// # Safety
    /// `base` must be the kernel-virtual address of a PL011's registers, used only here.
    pub unsafe fn new(base: usize) -> Pl011 {
        // SAFETY: guaranteed by the caller; the register block is MMIO that lives forever.
        let regs = unsafe { &*(base as *const Registers) };
        regs.cr.write(CR::UARTEN::SET + CR::TXE::SET + CR::RXE::SET);
        Pl011 { regs }
    }

    pub fn putc(&self, byte: u8) {
        while self.regs.fr.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        self.regs.dr.set(byte as u32);
    }

    /// Sends `bytes` as they are (the console adds any '\r').
    pub fn write_bytes(&self, bytes: &[u8]) {
        for &b in bytes {
            self.putc(b);
        }
    }

    pub fn try_getc(&self) -> Option<u8> {
        (!self.regs.fr.is_set(FR::RXFE)).then(|| self.regs.dr.get() as u8)
    }

    /// Raises the UART's interrupt line when input arrives.
    pub fn enable_rx_interrupt(&self) {
        self.regs.imsc.write(INT::RX::SET + INT::RT::SET);
    }

    /// Clears the receive interrupts (after the FIFO was read: RX drops by itself when
    /// the FIFO empties; RT must be cleared).
    pub fn clear_rx_interrupt(&self) {
        self.regs.icr.write(INT::RX::SET + INT::RT::SET);
    }
}
