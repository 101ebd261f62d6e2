//! Device drivers for QEMU virt: the PL011 UART (console), the GICv2 interrupt
//! controller and the PL031 real-time clock. Their base addresses come from the device
//! tree.

pub mod gic;
pub mod pl011;
pub mod pl031;
