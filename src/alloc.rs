//! The global allocator: mimalloc, wrapped to count the bytes in use.
//!
//! mimalloc's size classes are finer than glibc's and it has no per-chunk header, which is what keeps Shoal's
//! memory per key at or below Redis's (jemalloc). The running total is INFO's `used_memory` and what maxmemory
//! compares against, exactly as Redis's zmalloc counts. The counter is per-thread-sharded would be cheaper
//! under heavy multi-core allocation; one relaxed atomic measured well within noise on the benchmarks.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use mimalloc::MiMalloc;

pub struct CountingAlloc;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// The block mimalloc hands out for a request of `size` bytes (its size classes: 8 bytes, then 16-byte steps
/// to 64, then four classes per power of two up to 512 KiB, then whole 4 KiB pages), so that `used_memory`
/// counts what the allocator really uses, as Redis's zmalloc counts jemalloc's usable sizes. Checked against
/// `mi_good_size` by a test; alloc and dealloc see the same layout size, so the total never drifts.
#[inline]
pub fn block_size(size: usize) -> usize {
    if size <= 8 {
        8
    } else if size <= 64 {
        (size + 15) & !15
    } else if size > 512 * 1024 {
        size.saturating_add(4095) & !4095
    } else {
        let words = size.div_ceil(8) - 1;
        let shift = (usize::BITS - 1 - words.leading_zeros()) as usize - 2;
        (((words >> shift) + 1) << shift) * 8
    }
}

/// Bytes currently allocated by the process through Rust's allocator.
pub fn allocated_bytes() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

// SAFETY: every call is forwarded unchanged to mimalloc; only a counter is updated besides.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = MiMalloc.alloc(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(block_size(layout.size()), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        MiMalloc.dealloc(ptr, layout);
        ALLOCATED.fetch_sub(block_size(layout.size()), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = MiMalloc.alloc_zeroed(layout);
        if !p.is_null() {
            ALLOCATED.fetch_add(block_size(layout.size()), Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = MiMalloc.realloc(ptr, layout, new_size);
        if !p.is_null() {
            ALLOCATED.fetch_sub(block_size(layout.size()), Ordering::Relaxed);
            ALLOCATED.fetch_add(block_size(new_size), Ordering::Relaxed);
        }
        p
    }
}

/// Resident set size of this process in bytes (VmRSS), as INFO `used_memory_rss` reports it.
pub fn rss_bytes() -> usize {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * usize::try_from(page).unwrap_or(4096)
}
