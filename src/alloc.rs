//! The program's memory allocator: mimalloc (set in `main.rs`), and how it is tuned.
//!
//! Why: a `reconcile` over 5,000 files builds and drops millions of rows. glibc's malloc
//! handed freed memory back to the kernel and faulted it in again, zeroed, moments later:
//! a fifth of the run's CPU time was the kernel clearing pages. mimalloc keeps freed
//! memory for reuse; for a command that runs once and exits ([`tune_for_batch`]) it is
//! told never to give memory back before the end. The long-running `worker` and `serve`
//! keep mimalloc's defaults, which give memory back after a second.
//!
//! Large OS pages (`allow_large_os_pages`) were tried and are left off: on a machine
//! whose memory was fragmented (a build had just filled the page cache) the kernel
//! compacted memory for them and the run took 14 s of system time instead of 3.
//! mimalloc's default use of transparent huge pages (`allow_thp`) is kept: turning it
//! off made no measurable difference here. Blocks over 2 GiB come from the system
//! directly and go back to it when freed, whatever the purge delay.
//!
//! The options are set by number: libmimalloc-sys names only some of them, and the
//! numbers are mimalloc v3's (`mi_option_e` in `mimalloc.h`); the test below checks
//! that each number reads the documented default of the option it stands for.

use std::os::raw::c_int;

/// `mi_option_purge_delay` in milliseconds; -1: never purge (v3 numbering).
const PURGE_DELAY: c_int = 15;

/// For a command that runs once over a batch and exits: keep freed memory for reuse
/// instead of returning it. Call once, at the start.
pub fn tune_for_batch() {
    // SAFETY: mi_option_set only stores an integer in mimalloc's option table; the
    // numbers are checked against their defaults by this module's test.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
    }
}

/// Gives freed memory back to the system now (both allocators: the program's mimalloc
/// and glibc's, which the tests use), so that a resident-set figure read next counts
/// only memory in use.
pub fn release_free_memory() {
    // Memory freed while purging is off (`tune_for_batch`) is never scheduled for a purge
    // and stays resident whatever this does: measuring commands leave purging on.
    // SAFETY: both calls only walk the allocators' own free lists; no pointer of ours is
    // involved.
    unsafe {
        libmimalloc_sys::mi_collect(true);
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        libc::malloc_trim(0);
    }
}

/// True when reserving address space that is never touched costs nothing: the kernel
/// overcommits (`vm.overcommit_memory` is not 2, strict accounting) and the process has
/// no address-space limit (`ulimit -v`). Elsewhere a big reservation would use up what
/// later allocations need.
pub fn address_space_is_cheap() -> bool {
    #[cfg(target_os = "linux")]
    {
        let strict = std::fs::read_to_string("/proc/sys/vm/overcommit_memory").map_or(true, |s| s.trim() == "2");
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into the struct we pass and reads nothing else.
        let limited = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0 || lim.rlim_cur != libc::RLIM_INFINITY;
        !strict && !limited
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_numbers_are_the_options_meant() {
        // mimalloc v3's default purge delay is 1000 ms; its neighbours in the table read
        // 1 (deprecated_eager_commit_delay) and 0 (use_numa_nodes). A renumbered table
        // in a new mimalloc would read another value here.
        // SAFETY: reading mimalloc's option table.
        let around =
            unsafe { [PURGE_DELAY - 1, PURGE_DELAY, PURGE_DELAY + 1].map(|o| libmimalloc_sys::mi_option_get(o)) };
        assert_eq!(around, [1, 1000, 0]);
    }
}
