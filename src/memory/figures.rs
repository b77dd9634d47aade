//! The figures INFO memory, MEMORY STATS and MEMORY DOCTOR report, and the allocator calls behind them
//! (mimalloc's committed and resident bytes, its statistics report, purging free pages).
//!
//! `used_memory` is the counting allocator's total (`crate::alloc`: every allocation at mimalloc's block
//! size, as Redis's zmalloc counts every allocation at jemalloc's usable size); the overheads are computed
//! from the keyspace's table sizes; figures about features Shoal lacks (replication backlog, AOF buffer,
//! Lua, functions) are 0.

use std::ffi::{c_char, c_int, c_void, CStr};

use crate::alloc::allocated_bytes;
use crate::keyspace::{DbOverhead, DbView, Entry, SmallBytes};
use crate::state::{unix_time_ms, ServerState};

extern "C" {
    #[cfg(test)]
    fn mi_good_size(size: usize) -> usize;
    fn mi_collect(force: bool);
    fn mi_version() -> c_int;
    fn mi_stats_print_out(out: Option<unsafe extern "C" fn(*const c_char, *mut c_void)>, arg: *mut c_void);
    fn mi_process_info(
        elapsed_msecs: *mut usize,
        user_msecs: *mut usize,
        system_msecs: *mut usize,
        current_rss: *mut usize,
        peak_rss: *mut usize,
        current_commit: *mut usize,
        peak_commit: *mut usize,
        page_faults: *mut usize,
    );
}

/// Bytes mimalloc really hands out for a heap block of `size` bytes (0: no block), as `used_memory` counts it.
pub fn allocation_size(size: usize) -> usize {
    if size == 0 {
        0
    } else {
        crate::alloc::block_size(size)
    }
}

/// MEMORY PURGE: returns free memory to the OS.
pub fn purge() {
    // SAFETY: no preconditions; collects this thread's and abandoned heaps' free pages.
    unsafe { mi_collect(true) }
}

/// `mimalloc-<major>.<minor>.<patch>` (INFO `mem_allocator`).
pub fn allocator_name() -> String {
    // SAFETY: no preconditions.
    let v = unsafe { mi_version() };
    // MI_MALLOC_VERSION: major, two digits of minor, two digits of patch (30302 = 3.3.2).
    format!("mimalloc-{}.{}.{}", v / 10000, (v / 100) % 100, v % 100)
}

unsafe extern "C" fn collect_text(msg: *const c_char, arg: *mut c_void) {
    if msg.is_null() || arg.is_null() {
        return;
    }
    // SAFETY: `arg` is the `String` passed by `malloc_stats`, alive for the whole call; `msg` is a C string.
    let out = unsafe { &mut *(arg as *mut String) };
    out.push_str(&unsafe { CStr::from_ptr(msg) }.to_string_lossy());
}

/// MEMORY MALLOC-STATS: mimalloc's own statistics report.
pub fn malloc_stats() -> String {
    let mut out = String::new();
    // SAFETY: the callback only appends to `out`, which outlives the call.
    unsafe { mi_stats_print_out(Some(collect_text), &mut out as *mut String as *mut c_void) };
    out
}

/// The allocator's view: (committed bytes, resident bytes of the process).
pub fn allocator_committed_and_resident() -> (usize, usize) {
    let (mut elapsed, mut user, mut system, mut rss, mut peak_rss, mut commit, mut peak_commit, mut faults) =
        (0, 0, 0, 0, 0, 0, 0, 0);
    // SAFETY: every pointer is to a live local.
    unsafe {
        mi_process_info(
            &mut elapsed,
            &mut user,
            &mut system,
            &mut rss,
            &mut peak_rss,
            &mut commit,
            &mut peak_commit,
            &mut faults,
        )
    };
    (commit, rss)
}

/// Physical memory of the machine (`total_system_memory`), from /proc/meminfo.
pub fn total_system_memory() -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/meminfo") else { return 0 };
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Approximate bytes one key costs (MEMORY USAGE): its entry box, its bucket pointer, the key's and the
/// value's heap blocks at mimalloc's real block sizes, and its slot in the volatile list if it has a TTL.
pub fn entry_usage(e: &Entry) -> usize {
    let key_heap = allocation_size(e.key.heap_size());
    let mut total = allocation_size(std::mem::size_of::<Entry>())
        + std::mem::size_of::<usize>()
        + key_heap
        + allocation_size(e.value.heap_size());
    if e.expire_at_ms != 0 {
        total += std::mem::size_of::<SmallBytes>() + key_heap;
    }
    total
}

/// Bytes of the main hash table of a database (entries and bucket pointers): Redis's
/// `overhead.hashtable.main`.
pub fn main_table_overhead(o: &DbOverhead) -> usize {
    o.keys * allocation_size(std::mem::size_of::<Entry>()) + o.buckets * std::mem::size_of::<usize>()
}

/// Bytes of the volatile-key lists of a database: Redis's `overhead.hashtable.expires`.
pub fn expires_overhead(o: &DbOverhead) -> usize {
    o.volatile * std::mem::size_of::<SmallBytes>()
}

/// The figures shared by INFO memory, MEMORY STATS and MEMORY DOCTOR (Redis's `redisMemOverhead`).
#[derive(Clone, Debug, Default)]
pub struct Overview {
    pub used: usize,
    pub peak: usize,
    pub startup: usize,
    pub rss: usize,
    pub allocator_active: usize,
    pub allocator_resident: usize,
    pub dbs: Vec<DbOverhead>,
    /// Buffers and state of the connected clients (CLIENT LIST's `tot-mem`, summed).
    pub clients_normal: usize,
    pub clients: usize,
    pub overhead_total: usize,
    pub keys: usize,
    pub dataset: usize,
}

impl Overview {
    /// Gathers the figures; `dbs` comes from the caller's view ([`crate::keyspace::DbView::overheads`]).
    pub fn gather(server: &ServerState, dbs: Vec<DbOverhead>) -> Overview {
        let used = allocated_bytes();
        let peak = server.memory.note_used(used);
        let startup = server.memory.startup();
        let (active, resident) = allocator_committed_and_resident();
        let tables: usize = dbs.iter().map(|o| main_table_overhead(o) + expires_overhead(o)).sum();
        let handles = server.clients.all();
        let clients_normal: usize = handles.iter().map(|h| h.info().memory(h.who.fixed_mem)).sum();
        let overhead_total = startup + clients_normal + tables;
        Overview {
            used,
            peak,
            startup,
            rss: crate::alloc::rss_bytes(),
            allocator_active: active,
            allocator_resident: resident,
            keys: dbs.iter().map(|o| o.keys).sum(),
            dbs,
            clients_normal,
            clients: handles.len(),
            overhead_total,
            dataset: used.saturating_sub(overhead_total),
        }
    }

    /// `used - startup`, at least 1 (Redis's `net_usage`).
    pub fn net_usage(&self) -> usize {
        self.used.saturating_sub(self.startup).max(1)
    }

    pub fn dataset_perc(&self) -> f32 {
        self.dataset as f32 * 100.0 / self.net_usage() as f32
    }

    pub fn peak_perc(&self) -> f32 {
        self.used as f32 * 100.0 / self.peak.max(1) as f32
    }

    pub fn bytes_per_key(&self) -> usize {
        self.net_usage().checked_div(self.keys).unwrap_or(0)
    }

    /// (allocator fragmentation ratio, bytes): committed over allocated.
    pub fn allocator_frag(&self) -> (f32, i64) {
        ratio(self.allocator_active, self.used)
    }

    /// (allocator RSS ratio, bytes): resident over committed.
    pub fn allocator_rss(&self) -> (f32, i64) {
        ratio(self.allocator_resident, self.allocator_active)
    }

    /// (RSS overhead ratio, bytes): process RSS over the allocator's resident bytes.
    pub fn rss_overhead(&self) -> (f32, i64) {
        ratio(self.rss, self.allocator_resident)
    }

    /// (fragmentation ratio, bytes): process RSS over `used_memory`.
    pub fn fragmentation(&self) -> (f32, i64) {
        ratio(self.rss, self.used)
    }
}

fn ratio(a: usize, b: usize) -> (f32, i64) {
    let r = if b == 0 { 0.0 } else { a as f32 / b as f32 };
    (r, a as i64 - b as i64)
}

/// Redis's `bytesToHuman`: `B`, then `K`, `M`, `G`, `T`, `P` with two decimals.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, f64); 5] = [
        ("K", 1024.0),
        ("M", 1024.0 * 1024.0),
        ("G", 1024.0 * 1024.0 * 1024.0),
        ("T", 1024.0 * 1024.0 * 1024.0 * 1024.0),
        ("P", 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ];
    let d = n as f64;
    if d < 1024.0 {
        return format!("{n}B");
    }
    for (i, (unit, size)) in UNITS.iter().enumerate() {
        if i == UNITS.len() - 1 || d < size * 1024.0 {
            return format!("{:.2}{unit}", d / size);
        }
    }
    format!("{n}B")
}

/// INFO's `# Memory` section, Redis 7.0.15's fields in order. `view` is the caller's view when it holds every
/// shard (inside a transaction); otherwise shards are locked one at a time.
pub fn info_section(server: &ServerState, view: Option<&mut DbView<'_>>) -> String {
    let dbs = match view {
        Some(v) => v.overheads(),
        None => server.keyspace.lock_mask(0, 0, unix_time_ms()).overheads(),
    };
    let o = Overview::gather(server, dbs);
    let settings = server.config.snapshot();
    let system = total_system_memory();
    let (alloc_frag, alloc_frag_bytes) = o.allocator_frag();
    let (alloc_rss, alloc_rss_bytes) = o.allocator_rss();
    let (rss_extra, rss_extra_bytes) = o.rss_overhead();
    let (frag, frag_bytes) = o.fragmentation();
    let h = |n: usize| human_bytes(n as u64);
    format!(
        "# Memory\r\nused_memory:{}\r\nused_memory_human:{}\r\nused_memory_rss:{}\r\nused_memory_rss_human:{}\r\n\
         used_memory_peak:{}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\n\
         used_memory_overhead:{}\r\nused_memory_startup:{}\r\nused_memory_dataset:{}\r\n\
         used_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{}\r\nallocator_active:{}\r\n\
         allocator_resident:{}\r\ntotal_system_memory:{system}\r\ntotal_system_memory_human:{}\r\n\
         used_memory_lua:0\r\nused_memory_vm_eval:0\r\nused_memory_lua_human:0B\r\nused_memory_scripts_eval:0\r\n\
         number_of_cached_scripts:0\r\nnumber_of_functions:0\r\nnumber_of_libraries:0\r\n\
         used_memory_vm_functions:0\r\nused_memory_vm_total:0\r\nused_memory_vm_total_human:0B\r\n\
         used_memory_functions:0\r\nused_memory_scripts:0\r\nused_memory_scripts_human:0B\r\n\
         maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:{alloc_frag:.2}\r\n\
         allocator_frag_bytes:{alloc_frag_bytes}\r\nallocator_rss_ratio:{alloc_rss:.2}\r\n\
         allocator_rss_bytes:{alloc_rss_bytes}\r\nrss_overhead_ratio:{rss_extra:.2}\r\n\
         rss_overhead_bytes:{rss_extra_bytes}\r\nmem_fragmentation_ratio:{frag:.2}\r\n\
         mem_fragmentation_bytes:{frag_bytes}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:0\r\n\
         mem_total_replication_buffers:0\r\nmem_clients_slaves:0\r\nmem_clients_normal:{}\r\n\
         mem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{}\r\nactive_defrag_running:0\r\n\
         lazyfree_pending_objects:0\r\nlazyfreed_objects:0\r\n",
        o.used,
        h(o.used),
        o.rss,
        h(o.rss),
        o.peak,
        h(o.peak),
        o.peak_perc(),
        o.overhead_total,
        o.startup,
        o.dataset,
        o.dataset_perc(),
        o.used,
        o.allocator_active,
        o.allocator_resident,
        human_bytes(system),
        settings.maxmemory,
        human_bytes(settings.maxmemory),
        settings.maxmemory_policy.name(),
        o.clients_normal,
        allocator_name(),
    )
}

/// MEMORY DOCTOR's report, with Redis's thresholds and texts.
pub fn doctor_report(o: &Overview) -> String {
    if o.used < 5 * 1024 * 1024 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used \
                in these conditions. Please, leave for your mission on Earth and fill it with some data. The new \
                Sam and I will be back to our programming as soon as I finished rebooting.\n"
            .to_string();
    }
    const TEN_MB: i64 = 10 << 20;
    let big_peak = o.peak as f32 / o.used as f32 > 1.5;
    let (frag, frag_bytes) = o.fragmentation();
    let high_frag = frag > 1.4 && frag_bytes > TEN_MB;
    let (alloc_frag, alloc_frag_bytes) = o.allocator_frag();
    let high_alloc_frag = alloc_frag > 1.1 && alloc_frag_bytes > TEN_MB;
    let (alloc_rss, alloc_rss_bytes) = o.allocator_rss();
    let high_alloc_rss = alloc_rss > 1.1 && alloc_rss_bytes > TEN_MB;
    let (proc_rss, proc_rss_bytes) = o.rss_overhead();
    let high_proc_rss = proc_rss > 1.1 && proc_rss_bytes > TEN_MB;
    let big_client_buf = o.clients > 0 && o.clients_normal / o.clients > 200 * 1024;
    if !(big_peak || high_frag || high_alloc_frag || high_alloc_rss || high_proc_rss || big_client_buf) {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on \
                this base.\n"
            .to_string();
    }
    let mut s = String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    if big_peak {
        s.push_str(
            " * Peak memory: In the past this instance used more than 150% the memory that is currently using. \
             The allocator is normally not able to release memory after a peak, so you can expect to see a big \
             fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if \
             the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be \
             used as soon as you fill the Redis instance with more data. If the memory peak was only occasional \
             and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only \
             other option is to shutdown and restart the instance.\n\n",
        );
    }
    if high_frag {
        s.push_str(&format!(
            " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this \
             means that the Resident Set Size of the Redis process is much larger than the sum of the logical \
             allocations Redis performed). This problem is usually due either to a large peak memory (check if \
             there is a peak memory entry above in the report) or may result from a workload that causes the \
             allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. \
             Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The \
             currently used allocator is \"{}\".\n\n",
            allocator_name()
        ));
    }
    if high_alloc_frag {
        s.push_str(
            " * High allocator fragmentation: This instance has an allocator external fragmentation greater than \
             1.1. This problem is usually due either to a large peak memory (check if there is a peak memory \
             entry above in the report) or may result from a workload that causes the allocator to fragment \
             memory a lot. You can try enabling 'activedefrag' config option.\n\n",
        );
    }
    if high_alloc_rss {
        s.push_str(
            " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this \
             means that the Resident Set Size of the allocator is much larger than the sum what the allocator \
             actually holds). This problem is usually due to a large peak memory (check if there is a peak \
             memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n",
        );
    }
    if high_proc_rss {
        s.push_str(
            " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than \
             1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the \
             allocator holds). This problem may be due to Lua scripts or Modules.\n\n",
        );
    }
    if big_client_buf {
        s.push_str(
            " * Big client buffers: The clients output buffers in this instance are greater than 200K per client \
             (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot \
             not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients \
             sending commands with large replies or very large sequences of commands in the same pipeline. Please \
             use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, \
             or to understand better why certain clients are using a big amount of memory.\n\n",
        );
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_block_sizes_are_mimallocs() {
        assert_eq!(allocation_size(0), 0);
        let mut sizes: Vec<usize> = (1..70_000).collect();
        sizes.extend((0..2_000).map(|i| 500_000 + i * 997));
        sizes.extend([1 << 20, (1 << 20) + 1, 64 << 20]);
        for size in sizes {
            // SAFETY: a pure function of its argument.
            let good = unsafe { mi_good_size(size) };
            assert_eq!(crate::alloc::block_size(size), good, "size {size}");
        }
        assert!(allocator_name().starts_with("mimalloc-"));
    }
}
