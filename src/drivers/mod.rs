//! Device drivers for QEMU virt: the PL011 UART (console) and the GICv2 interrupt
//! controller. Their base addresses come from the device tree.

pub mod gic;
pub mod pl011;
