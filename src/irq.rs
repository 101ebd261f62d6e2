//! Interrupt dispatch: acknowledge at the GIC, run the handler, signal end of interrupt.
//! The only interrupt in use is the timer tick.

use spin::Once;

use crate::arch::timer;
use crate::drivers::gic::{Gic, SPURIOUS};

pub static GIC: Once<Gic> = Once::new();

pub fn init(gic: Gic) {
    gic.enable(timer::VIRTUAL_TIMER_IRQ);
    GIC.call_once(|| gic);
    timer::rearm();
}

pub fn handle() {
    let Some(gic) = GIC.get() else { return };
    let irq = gic.acknowledge();
    if irq >= SPURIOUS - 3 {
        return;
    }
    if irq == timer::VIRTUAL_TIMER_IRQ {
        timer::rearm();
        crate::task::sched::timer_tick(timer::now_ns());
    } else {
        log::warn!("unexpected interrupt {}", irq);
    }
    gic.end_of_interrupt(irq);
}
