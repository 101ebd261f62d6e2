//! From the first Rust instruction to the idle loop (Linux: init/main.c `start_kernel`,
//! `kernel_init`). Reads the machine's layout from the device tree QEMU passes in x0.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use spin::Once;

use crate::arch::{self, phys_to_virt, virt_to_phys};
use crate::drivers::{gic::Gic, pl011::Pl011};
use crate::mm::frame::{FrameAllocator, PAGE_SIZE, PhysAddr};
use crate::mm::global::{self, FRAMES};
use crate::mm::heap::HEAP;
use crate::task::{self, sched};

/// Parsed kernel command line (`-append`): `init=/bin/prog arg...`, `semihosting`,
/// `test_stack_overflow` (init's kernel thread recurses until its kernel stack
/// overflows: the test of the guard page and of the overflow report).
pub struct BootArgs {
    pub init: String,
    pub init_args: Vec<String>,
    pub semihosting: bool,
    pub test_stack_overflow: bool,
}

static BOOT_ARGS: Once<BootArgs> = Once::new();

pub fn boot_args() -> &'static BootArgs {
    BOOT_ARGS.call_once(|| parse_cmdline(""))
}

fn parse_cmdline(cmdline: &str) -> BootArgs {
    let mut args = BootArgs {
        init: String::from("/init"),
        init_args: Vec::new(),
        semihosting: false,
        test_stack_overflow: false,
    };
    // Like Linux, words may be quoted ("a b"), and everything after "--" goes to init.
    let (kernel_params, init_args) = crate::cmdline::split(cmdline);
    for p in kernel_params {
        match (p.name, p.value) {
            ("init", Some(path)) => args.init = String::from(path),
            ("semihosting", None) => args.semihosting = true,
            ("test_stack_overflow", None) => args.test_stack_overflow = true,
            // fork=odf: fork shares last-level page tables (src/mm/odf.rs, docs/odf.md).
            ("fork", Some(mode)) => crate::mm::odf::set_fork_mode(mode),
            _ => {}
        }
    }
    args.init_args = init_args.map(|p| p.to_string()).collect();
    args
}

fn align_up(x: usize) -> usize {
    (x + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)
}

fn region(node: fdt::node::FdtNode, index: usize) -> Option<(usize, usize)> {
    let r = node.reg()?.nth(index)?;
    Some((
        r.starting_address as usize,
        r.starting_address as usize + r.size.unwrap_or(PAGE_SIZE),
    ))
}

/// Frames in use right after boot: what every test compares against.
pub static BASELINE_FRAMES: Once<usize> = Once::new();
pub static BASELINE_HEAP: Once<usize> = Once::new();

#[unsafe(no_mangle)]
pub extern "C" fn kernel_main(dtb_phys: usize) -> ! {
    arch::cpu_init(0); // the per-CPU area and what EL0 may do (before any task exists)
    // SAFETY: QEMU passes the physical address of a valid device tree in x0, and the boot
    // tables map all of RAM at phys_to_virt.
    let fdt = unsafe { fdt::Fdt::from_ptr(phys_to_virt(dtb_phys)) }
        .unwrap_or_else(|_| arch::exit_qemu(125));

    let uart = fdt
        .chosen()
        .stdout()
        .or_else(|| fdt.find_compatible(&["arm,pl011"]))
        .and_then(|n| region(n, 0));
    let Some((uart_base, uart_end)) = uart else {
        arch::exit_qemu(125)
    };
    // SAFETY: the DTB names this PL011; the boot tables map the first GiB as device memory.
    crate::console::init(unsafe { Pl011::new(phys_to_virt(uart_base) as usize) });

    let mem = fdt
        .memory()
        .regions()
        .next()
        .expect("no memory node in the device tree");
    let ram = (
        mem.starting_address as usize,
        mem.starting_address as usize + mem.size.unwrap_or(0),
    );
    let layout = arch::mmu::kernel_layout();
    let kernel_end = virt_to_phys(layout.end);

    // The kernel heap starts right after the image with what boot needs (the frame
    // allocator's tables: 8 bytes per frame) and 1 MiB more; later it grows with frames
    // on demand (mm/heap.rs).
    let heap_size = align_up((ram.1 - ram.0) / PAGE_SIZE * 8 + (1 << 20));
    // SAFETY: [kernel_end, kernel_end + heap_size) is RAM that nothing else uses: the
    // frame allocator below starts after it, and QEMU puts DTB/initrd elsewhere (checked).
    unsafe { HEAP.init(phys_to_virt(kernel_end) as usize, heap_size) };
    let heap_end = kernel_end + heap_size;
    let cmdline = fdt.chosen().bootargs().unwrap_or("");
    let args = BOOT_ARGS.call_once(|| parse_cmdline(cmdline));
    arch::SEMIHOSTING.store(args.semihosting, core::sync::atomic::Ordering::Relaxed);

    let chosen = fdt.find_node("/chosen");
    let prop = |name| {
        chosen
            .and_then(|c| c.property(name))
            .and_then(|p| p.as_usize())
    };
    let initrd = match (prop("linux,initrd-start"), prop("linux,initrd-end")) {
        (Some(s), Some(e)) if e > s => Some((s, e)),
        _ => None,
    };
    let dtb = (dtb_phys, dtb_phys + fdt.total_size());
    let reserved: Vec<(usize, usize)> = [Some(dtb), initrd].into_iter().flatten().collect();
    for &(s, e) in &reserved {
        assert!(
            e <= kernel_end || s >= heap_end,
            "DTB/initrd overlap the kernel heap"
        );
    }

    task::set_max_threads(ram.1 - ram.0);
    let mut frames = FrameAllocator::new(PhysAddr(ram.0), (ram.1 - ram.0) / PAGE_SIZE);
    let mut cursor = align_up(heap_end);
    let mut sorted = reserved.clone();
    sorted.sort();
    for (s, e) in sorted {
        let s = s & !(PAGE_SIZE - 1);
        if s > cursor {
            frames.add_free_range(PhysAddr(cursor), PhysAddr(s));
        }
        cursor = cursor.max(align_up(e));
    }
    frames.add_free_range(PhysAddr(cursor), PhysAddr(ram.1));
    let free_at_boot = frames.free_frames();

    let gic_node = fdt
        .find_compatible(&["arm,cortex-a15-gic", "arm,gic-400"])
        .expect("no GICv2 in the device tree");
    let (gicd, gicc) = (region(gic_node, 0).unwrap(), region(gic_node, 1).unwrap());
    let rtc = fdt
        .find_compatible(&["arm,pl031"])
        .and_then(|n| region(n, 0));
    let mut devices = alloc::vec![(uart_base, uart_end), gicd, gicc];
    devices.extend(rtc);
    crate::mm::kernel_map::init_kernel_tables(&frames, ram, &devices);
    if let Some((base, _)) = rtc {
        // SAFETY: the DTB names this PL031; its page was just mapped as device memory.
        crate::time::set_realtime(unsafe {
            crate::drivers::pl031::read_seconds(phys_to_virt(base) as usize)
        });
    }
    global::init_empty_ttbr0(&frames);
    FRAMES.call_once(|| frames);
    // The random generator's seeds: what QEMU (a boot loader) left in /chosen.
    let seed = |name| {
        chosen
            .and_then(|c| c.property(name))
            .map_or(&[][..], |p| p.value)
    };
    crate::random::init(&[seed("rng-seed"), seed("kaslr-seed")]);
    crate::vdso::init();
    crate::trace::init(cmdline, current_ids);

    if let Some((s, e)) = initrd {
        // SAFETY: QEMU loaded the initrd there and its frames are reserved above.
        crate::initrd::init(unsafe { core::slice::from_raw_parts(phys_to_virt(s), e - s) });
    }
    // SAFETY: the DTB names these GICv2 registers; they are mapped as device memory.
    crate::irq::init(unsafe {
        Gic::new(phys_to_virt(gicd.0) as usize, phys_to_virt(gicc.0) as usize)
    });
    crate::tty::init();

    crate::println!();
    crate::println!("teachos: an AArch64 teaching kernel (fork, clone, copy-on-write)");
    crate::println!("  machine   {}", fdt.root().model());
    crate::println!(
        "  RAM       {:#x}..{:#x} ({} MiB)",
        ram.0,
        ram.1,
        (ram.1 - ram.0) >> 20
    );
    crate::println!(
        "  kernel    {:#x}..{:#x} text {:#x}..{:#x}",
        layout.text.0,
        layout.end,
        layout.text.0,
        layout.text.1
    );
    crate::println!(
        "  heap      {:#x}..{:#x} ({} KiB)",
        kernel_end,
        heap_end,
        heap_size >> 10
    );
    if let Some((s, e)) = initrd {
        crate::println!("  initrd    {:#x}..{:#x} ({} KiB)", s, e, (e - s) >> 10);
    }
    crate::println!("  dtb       {:#x}..{:#x}", dtb.0, dtb.1);
    crate::println!(
        "  frames    {} free of {} ({} KiB each)",
        free_at_boot,
        (ram.1 - ram.0) / PAGE_SIZE,
        PAGE_SIZE >> 10
    );
    crate::println!(
        "  uart {:#x}, gicd {:#x}, gicc {:#x}, timer {} Hz",
        uart_base,
        gicd.0,
        gicc.0,
        arch::timer::frequency()
    );
    crate::println!("  cmdline   \"{}\"", cmdline);

    let idle = task::Task::new(0, 0, None, idle_inner());
    sched::init_idle(idle);
    let cpus = start_secondary_cpus(&fdt);
    crate::println!("  cpus      {} online", cpus);
    crate::proc::init();
    match crate::fs::initramfs::mount_root(crate::initrd::archive()) {
        Ok(root) => crate::fs::set_root(root),
        Err(e) => panic!("cannot build the root file system: {:?}", e),
    }
    // Unpacked: the archive's frames are free memory now (Linux `free_initrd_mem`).
    if let Some((s, e)) = crate::initrd::prepare_free() {
        let n = global::with_frames(|f| f.free_reserved_range(s, e));
        crate::println!("  initrd    unpacked; {} KiB freed", (n * PAGE_SIZE) >> 10);
    }
    BASELINE_FRAMES.call_once(global::frames_in_use);
    BASELINE_HEAP.call_once(global::heap_in_use);
    if let Err(e) = task::fork::kernel_thread("init", kernel_init, 0, 1) {
        panic!("cannot create init: {:?}", e);
    }
    sched::wake_up_new_task(sched::find_task(1).unwrap());
    let init_status = sched::idle_loop();
    shutdown(init_status)
}

/// The idle task a starting secondary CPU adopts (one CPU starts at a time).
static SECONDARY_IDLE: spin::Mutex<Option<alloc::sync::Arc<task::Task>>> = spin::Mutex::new(None);

/// Starts every other CPU the device tree lists (Linux `smp_init` → `bringup_nonboot_cpus`)
/// through PSCI CPU_ON, one at a time, each with its own idle task and kernel stack;
/// returns how many CPUs are online. A CPU that does not come up within a second is
/// reported and left out.
fn start_secondary_cpus(fdt: &fdt::Fdt) -> usize {
    use arch::smp::Conduit;
    let conduit = match fdt
        .find_node("/psci")
        .and_then(|n| n.property("method"))
        .and_then(|p| p.as_str())
    {
        Some("hvc") => Conduit::Hvc,
        Some("smc") => Conduit::Smc,
        _ => return 1, // no PSCI: this CPU alone
    };
    // Also for reboot(2)'s power-off and reset, later (syscall/reboot.rs).
    arch::smp::set_psci_conduit(conduit);
    let me = arch::smp::this_mpidr();
    let mut next = 1;
    for cpu_node in fdt.cpus() {
        let mpidr = cpu_node.ids().first() as u64;
        if mpidr == me {
            continue;
        }
        if next >= arch::percpu::MAX_CPUS {
            crate::println!("  cpu {:#x}: more CPUs than MAX_CPUS, left off", mpidr);
            continue;
        }
        let cpu = next;
        let Ok(stack) = task::KernelStack::new() else {
            crate::println!("  cpu {}: no memory for its stack, left off", cpu);
            break;
        };
        let idle = task::Task::new(0, 0, Some(stack), idle_inner());
        let stack_top = idle.kstack_top();
        *SECONDARY_IDLE.lock() = Some(idle);
        if let Err(e) = arch::smp::boot_secondary(conduit, mpidr, cpu, stack_top) {
            crate::println!(
                "  cpu {} (mpidr {:#x}): PSCI CPU_ON failed ({})",
                cpu,
                mpidr,
                e
            );
            SECONDARY_IDLE.lock().take();
            continue;
        }
        let deadline = arch::timer::now_ns() + 1_000_000_000;
        while sched::online_mask() & (1 << cpu) == 0 && arch::timer::now_ns() < deadline {
            core::hint::spin_loop();
        }
        if sched::online_mask() & (1 << cpu) == 0 {
            crate::println!("  cpu {} (mpidr {:#x}) did not come online", cpu, mpidr);
            continue;
        }
        next += 1;
    }
    sched::online_mask().count_ones() as usize
}

/// A secondary CPU's first Rust code (boot.S `__secondary_switched`; Linux
/// `secondary_start_kernel`): its per-CPU area, no user tables, its GIC interface and
/// timer, then the idle task the boot CPU made for it; it never returns.
#[unsafe(no_mangle)]
extern "C" fn secondary_start_kernel(cpu: usize) -> ! {
    arch::cpu_init(cpu);
    arch::mmu::switch_ttbr0(global::empty_ttbr0());
    crate::irq::init_this_cpu();
    let idle = SECONDARY_IDLE
        .lock()
        .take()
        .expect("a secondary CPU started without its idle task");
    sched::init_idle(idle);
    sched::idle_loop();
    unreachable!("only the boot CPU leaves the idle loop");
}

fn idle_inner() -> task::TaskInner {
    task::TaskInner {
        state: task::TaskState::Running,
        ..task::TaskInner::new(String::from("idle"), 0)
    }
}

/// The running task for the tracepoints (trace/mod.rs): ids, and the name if asked,
/// without waiting for the task's lock ("?" if it is held); nobody before the first
/// task is current.
fn current_ids(with_name: bool) -> crate::trace::Ids {
    if arch::percpu::this_cpu().current_task().is_null() {
        return crate::trace::Ids::default();
    }
    let task = sched::current();
    if !with_name {
        return crate::trace::Ids::new(task.tgid, task.tid, "");
    }
    match task.inner.try_lock() {
        Some(inner) => crate::trace::Ids::new(task.tgid, task.tid, &inner.name),
        None => crate::trace::Ids::new(task.tgid, task.tid, "?"),
    }
}

/// pid 1's kernel half (Linux `kernel_init`): exec the init program, then return into
/// ret_from_fork, which enters it in user mode.
extern "C" fn kernel_init(_arg: usize) {
    let args = boot_args();
    if args.test_stack_overflow {
        crate::println!("kernel: test_stack_overflow: init's kernel thread recurses");
        recurse_until_overflow(0);
    }
    // SAFETY: the TrapFrame at the top of our own kernel stack, which ret_from_fork will
    // restore; nothing else references it while we run here.
    let frame = unsafe { &mut *arch::trap_frame_at(sched::current().kstack_top()) };
    let mut argv: Vec<&str> = alloc::vec![args.init.as_str()];
    argv.extend(args.init_args.iter().map(|s| s.as_str()));
    if let Err(e) = task::exec::exec_current(frame, &args.init, &argv, &["HOME=/", "TERM=linux"]) {
        crate::println!(
            "kernel: cannot run init program {}: error {}",
            args.init,
            e.0
        );
        // Init ends like any process, so its kernel stack is freed before the power-off.
        task::exit::do_exit(task::exit::exited_status(127));
    }
}

/// Kernel-side recursion without end (the `test_stack_overflow` option): each call
/// keeps 256 bytes of locals live across the next, so the compiler can neither turn it
/// into a loop nor shrink its frame. Expected outcome: a fault on the stack's guard page,
/// the overflow report and a kernel panic (QEMU exit status 255).
#[inline(never)]
fn recurse_until_overflow(depth: usize) -> usize {
    let mut locals = [depth as u8; 256];
    core::hint::black_box(&mut locals);
    if core::hint::black_box(depth) == usize::MAX {
        return 0;
    }
    recurse_until_overflow(depth + 1) + locals[depth % 256] as usize
}

/// Powers off once init has exited: reports the leak check and ends QEMU with init's
/// exit code (128 + signal if it was killed, as a shell would report it).
pub fn shutdown(status: u32) -> ! {
    // Dropped outside the TASKS lock: a task's last reference frees its kernel stack
    // and whatever it still holds (lock order, src/sync/mod.rs).
    let tasks = core::mem::take(&mut *sched::TASKS.lock());
    drop(tasks);
    crate::trace::dump_at_power_off(arch::timer::frequency());
    let frames = global::frames_in_use();
    let base = *BASELINE_FRAMES.get().unwrap_or(&0);
    let heap = global::heap_in_use();
    let heap_base = *BASELINE_HEAP.get().unwrap_or(&0);
    let code = if status & 0x7f != 0 {
        128 + (status & 0x7f)
    } else {
        (status >> 8) & 0xff
    };
    if status & 0x7f != 0 {
        let sig = status & 0x7f;
        crate::println!(
            "kernel: init was killed by signal {} ({}); powering off with status {}",
            sig,
            crate::task::signal::signal_name(sig),
            code
        );
    }
    crate::println!(
        "kernel: init exited with status {}; frames in use {} (baseline {}){}",
        code,
        frames,
        base,
        if frames == base { "" } else { " LEAK" }
    );
    // The heap's bytes in use are compared too; a few tables built on first use (the
    // ASID map, the run queue) stay allocated, so a small difference is reported, not
    // judged here: the test programs check the heap themselves (KSTAT 4).
    crate::println!(
        "kernel: heap {} bytes in use ({} at boot), {} frames grown",
        heap,
        heap_base,
        crate::mm::heap::frames()
    );
    let (ticks, cause) = arch::irqsoff::longest();
    crate::println!(
        "kernel: longest interrupts-masked stretch {} counter ticks = {} ns (instructions \
         under -icount shift=0): {}",
        ticks,
        ticks * 1_000_000_000 / arch::timer::frequency(),
        arch::irqsoff::Cause(cause)
    );
    arch::exit_qemu(code)
}
