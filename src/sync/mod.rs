//! Synchronisation primitives every subsystem may use. A leaf: nothing here imports the
//! rest of the kernel.

pub mod wait;
