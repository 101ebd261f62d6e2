//! Interrupt dispatch: acknowledge at the GIC, say which kernel event it is, signal end
//! of interrupt; and the inter-processor interrupts one CPU sends another. What each
//! event does is decided by trap.rs (the scheduler's tick, the reschedule IPI).

use spin::Once;

use crate::arch::timer;
use crate::drivers::gic::{Gic, SPURIOUS};

pub static GIC: Once<Gic> = Once::new();

/// Timer interrupts taken since boot, all CPUs (KSTAT 10: what tickless idle saves).
pub static TIMER_IRQS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// The SGI used as the reschedule IPI (Linux `IPI_RESCHEDULE`, also SGI 0 on arm64).
pub const IPI_RESCHEDULE: u32 = 0;
/// The SGI that stops a CPU for good: a panic on another CPU (Linux `IPI_CPU_STOP`).
pub const IPI_STOP: u32 = 2;

/// What an interrupt means to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Irq {
    /// This CPU's timer: a deadline of the timer queue, or the scheduler tick.
    Tick,
    /// Another CPU queued work for this one, or wants a task running here to notice
    /// something (a kill, a changed affinity).
    Reschedule,
    /// The PL011 UART received bytes (routed to CPU 0).
    Uart,
}

/// The PL011's interrupt on QEMU virt: SPI 1 (its device-tree node says
/// `interrupts = <0 1 4>`: SPI, number 1, level-triggered), GIC interrupt 32 + 1.
pub const UART_IRQ: u32 = crate::drivers::gic::FIRST_SPI + 1;

/// Halts this CPU for good (IRQs masked): another CPU panicked.
fn stop_this_cpu() -> ! {
    crate::arch::irq_disable();
    loop {
        crate::arch::halt();
    }
}

/// The boot CPU: the distributor, then its own interface and interrupts.
pub fn init(gic: Gic) {
    GIC.call_once(|| gic);
    init_this_cpu();
    // SPIs go to CPU 0 (Gic::enable); the UART raises it once the tty turns input
    // interrupts on.
    GIC.get().unwrap().enable(UART_IRQ);
}

/// Every CPU: its GIC CPU interface, its (banked) timer PPI and reschedule SGI, and
/// its first tick (whose handler decides when the next one is due: time/timer.rs).
pub fn init_this_cpu() {
    let gic = GIC.get().expect("GIC not initialised");
    gic.init_cpu();
    gic.enable(timer::VIRTUAL_TIMER_IRQ);
    gic.enable(IPI_RESCHEDULE);
    gic.enable(IPI_STOP);
    timer::program(Some(timer::now_ns() + crate::time::timer::TICK_NS));
}

/// Takes the pending interrupt and runs `handler` for it.
pub fn handle(handler: impl FnOnce(Irq)) {
    let Some(gic) = GIC.get() else { return };
    let ack = gic.acknowledge();
    let irq = ack.irq();
    if irq >= SPURIOUS - 3 {
        return;
    }
    match irq {
        timer::VIRTUAL_TIMER_IRQ => {
            TIMER_IRQS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            // One-shot: stopped here (the interrupt is level-triggered), programmed
            // again for the next event by the handler.
            timer::program(None);
            handler(Irq::Tick);
        }
        IPI_RESCHEDULE => handler(Irq::Reschedule),
        UART_IRQ => handler(Irq::Uart),
        IPI_STOP => stop_this_cpu(),
        _ => log::warn!(
            "unexpected interrupt {} (from CPU {})",
            irq,
            ack.source_cpu()
        ),
    }
    gic.end_of_interrupt(ack);
}

/// Panic: stops the other CPUs at their next interrupt window (a CPU busy in the kernel
/// has IRQs masked and stops only when it returns to user mode or idles).
pub fn stop_other_cpus() {
    if let Some(gic) = GIC.get() {
        gic.send_sgi_to_others(IPI_STOP);
    }
}

/// Sends the reschedule IPI to `cpu`.
pub fn send_reschedule(cpu: usize) {
    if let Some(gic) = GIC.get() {
        gic.send_sgi(IPI_RESCHEDULE, cpu);
    }
}
