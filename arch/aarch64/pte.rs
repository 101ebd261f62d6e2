//! The translation-table descriptor format: VMSAv8-64, 4 KiB granule, 48-bit addresses
//! (ARM ARM D8.3 "Translation table descriptor formats", D8.4 "Memory access control";
//! Linux: arch/arm64/include/asm/pgtable-hwdef.h and pgtable-prot.h).
//!
//! Defined once, here: the kernel build uses it as `arch::pte`, and the host fake
//! (arch/host/mod.rs) includes this very file, so host tests build the same bits the MMU
//! reads. Pure Rust: no system register, no assembly. Physical addresses are plain
//! `usize`, as everywhere in the arch contract. (gdb/teachos.py decodes the same bits.)
//!
//! ```text
//!  63..59  58..55  54   53   52..48  47 .............. 12  11  10  9..8  7    6    4..2      1     0
//!  ignored  SW     UXN  PXN  (0)     output address [47:12] nG  AF  SH    AP2  AP1  AttrIndx  type  valid
//! ```
//!
//! A *table* descriptor (levels 0-2) has its own attributes in bits 63:59: NSTable,
//! APTable[1:0] (62:61), UXNTable, PXNTable; this kernel uses only APTable[1]
//! (`APTABLE_NO_WRITE`, for ODF fork).
//!
//! Bits 1:0 say what a descriptor is: `x0` invalid; at levels 0-2 `11` table and `01` block;
//! at level 3 `11` page (`01` is reserved there). Bits 58:55 are left to software: this
//! kernel keeps its copy-on-write and MAP_SHARED marks there.

use bitflags::bitflags;

bitflags! {
    /// Attribute bits of a page, block or table descriptor.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PteFlags: u64 {
        /// Valid descriptor (bit 0).
        const VALID = 1 << 0;
        /// Bit 1: at levels 0-2 table (1) or block (0). At level 3 it must be 1 ("page").
        const TABLE_OR_PAGE = 1 << 1;
        /// AttrIndx[2:0] = 1: MAIR_EL1 attribute 1, Device-nGnRE (0 is normal memory).
        const DEVICE = 1 << 2;
        /// AP[1]: EL0 may access.
        const USER = 1 << 6;
        /// AP[2]: read-only (at every EL).
        const READ_ONLY = 1 << 7;
        /// SH[1:0] = 0b11: inner shareable.
        const SH_INNER = 3 << 8;
        /// Access flag: without it the first access faults.
        const AF = 1 << 10;
        /// Not global: the TLB entry is tagged with the ASID (every user mapping).
        const NG = 1 << 11;
        /// Privileged execute-never.
        const PXN = 1 << 53;
        /// Unprivileged (EL0) execute-never.
        const UXN = 1 << 54;
        /// Software bit 55: a private page that may share its frame; copy before writing.
        const COW = 1 << 55;
        /// Software bit 56: a MAP_SHARED page; fork shares it writable, never COW.
        const SHARED = 1 << 56;
    }
}

impl PteFlags {
    /// The attributes of a user page that EL0 may read (`read`), write, execute
    /// (Linux: arm64's `protection_map`, arch/arm64/mm/mmap.c, built from the PAGE_* values
    /// of pgtable-prot.h). `shared` marks a MAP_SHARED page (software bit 56).
    ///
    /// Data access is AP[2:1] (ARM ARM D8.4.1, "Data access permissions"): `01` EL0 and EL1
    /// read-write, `11` both read-only, `10` EL1 read-only and *no EL0 access*. EL0
    /// instruction fetch is UXN alone, whatever AP says. Two consequences, as on arm64
    /// Linux without Enhanced PAN:
    ///
    /// * a page EL0 may write or execute is also readable: AP has no write-only or
    ///   execute-only encoding that still lets EL0 in, so PROT_WRITE and PROT_EXEC imply
    ///   PROT_READ (the fault handler's VMA check says the same);
    /// * PROT_NONE is `10` with UXN: EL0 cannot touch the page, nor can the kernel's
    ///   unprivileged uaccess (`ldtrb`/`sttrb` check EL0's permissions), yet the entry
    ///   stays valid and keeps its frame. (Linux instead clears the valid bit and marks the
    ///   entry with the software bit PTE_PROT_NONE, which NUMA balancing needs; here no
    ///   privileged load ever reaches a user page through TTBR0, so AP alone suffices.)
    ///
    /// PXN is always set: the kernel never executes user memory.
    pub fn user_page(read: bool, write: bool, exec: bool, shared: bool) -> PteFlags {
        let mut f = PteFlags::AF | PteFlags::SH_INNER | PteFlags::NG | PteFlags::PXN;
        if read || write || exec {
            f |= PteFlags::USER;
        }
        if !write {
            f |= PteFlags::READ_ONLY;
        }
        if !exec {
            f |= PteFlags::UXN;
        }
        if shared {
            f |= PteFlags::SHARED;
        }
        f
    }

    /// May EL0 (and uaccess) load from a page with these attributes?
    pub fn user_readable(self) -> bool {
        self.contains(PteFlags::USER)
    }

    /// May EL0 (and uaccess) store to it? (A COW page is read-only until its fault.)
    pub fn user_writable(self) -> bool {
        self.contains(PteFlags::USER) && !self.contains(PteFlags::READ_ONLY)
    }

    /// May EL0 execute it?
    pub fn user_executable(self) -> bool {
        !self.contains(PteFlags::UXN)
    }
}

/// Output-address bits [47:12] of a descriptor.
pub const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

/// The TTBR0_EL1/TTBR1_EL1 value for a table root and an ASID (ARM ARM D17.2.145:
/// BADDR in bits 47:1, ASID in bits 63:48 with TCR_EL1.AS = 1).
pub fn ttbr(root: usize, asid: u16) -> u64 {
    root as u64 & ADDR_MASK | (asid as u64) << 48
}

/// Bits 1:0 of a table descriptor (levels 0-2) or a page descriptor (level 3).
const TYPE_TABLE_OR_PAGE: u64 = 0b11;

/// One descriptor, as read from or written to a table (Linux: `pte_t`, `pmd_t`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pte(pub u64);

impl Pte {
    /// An invalid descriptor: the MMU faults on it (Linux `pte_clear`).
    pub const EMPTY: Pte = Pte(0);

    /// A descriptor for physical address `pa` with exactly `flags` (type bits included).
    pub fn new(pa: usize, flags: PteFlags) -> Pte {
        Pte(pa as u64 & ADDR_MASK | flags.bits())
    }

    /// A level-3 page descriptor (Linux `pfn_pte`).
    pub fn page(pa: usize, flags: PteFlags) -> Pte {
        Pte::new(pa, flags | PteFlags::VALID | PteFlags::TABLE_OR_PAGE)
    }

    /// A level-1/2 block descriptor (the kernel's 2 MiB linear-map blocks).
    pub fn block(pa: usize, flags: PteFlags) -> Pte {
        Pte::new(pa, (flags | PteFlags::VALID) - PteFlags::TABLE_OR_PAGE)
    }

    /// A level-0..2 descriptor pointing to the next-level table at `pa`.
    pub fn table(pa: usize) -> Pte {
        Pte::new(pa, PteFlags::VALID | PteFlags::TABLE_OR_PAGE)
    }

    pub fn is_valid(self) -> bool {
        self.0 & PteFlags::VALID.bits() != 0
    }

    /// At levels 0-2: does this entry point to a next-level table? (At level 3 the same
    /// bits mean "page".)
    pub fn is_table(self) -> bool {
        self.0 & TYPE_TABLE_OR_PAGE == TYPE_TABLE_OR_PAGE
    }

    /// The output address: the next table, the page, or the block.
    pub fn addr(self) -> usize {
        (self.0 & ADDR_MASK) as usize
    }

    pub fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0 & !ADDR_MASK)
    }

    /// Is this table descriptor's APTable[1] set: no write, at any EL, through any entry of
    /// the tables below it? (Used by ODF fork, src/mm/odf.rs.)
    #[inline]
    pub fn table_write_protected(self) -> bool {
        self.0 & APTABLE_NO_WRITE != 0
    }

    /// This table descriptor with APTable[1] set (`wp`) or clear.
    #[inline]
    pub fn table_set_write_protect(self, wp: bool) -> Pte {
        if wp {
            Pte(self.0 | APTABLE_NO_WRITE)
        } else {
            Pte(self.0 & !APTABLE_NO_WRITE)
        }
    }
}

/// APTable[1], bit 62 of a level 0-2 *table* descriptor (ARM ARM D8.4, "Memory access
/// control": hierarchical permissions; D8.3 gives the table-descriptor format, APTable in
/// bits 62:61). Set, no access through the table below may write, at EL0 or EL1, whatever
/// the page descriptors there say: the MMU combines the permissions of every level of the
/// walk (the TLB caches the combination, so changing it needs a TLB invalidation like any
/// other permission change). APTable[0] (bit 61) would remove EL0 access; unused here.
/// It applies only while TCR_EL1.HPD0 is 0 (FEAT_HPDS lets software disable hierarchical
/// permissions; boot.S never sets HPD0, and QEMU's cortex-a72 has no FEAT_HPDS at all).
/// In a page descriptor bit 62 is ignored by the MMU (bits 63:59 are, without FEAT_PBHA).
pub const APTABLE_NO_WRITE: u64 = 1 << 62;
