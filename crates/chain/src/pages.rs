//! The page size a process building an index should use.
//!
//! mimalloc asks the kernel for transparent huge pages (`MADV_HUGEPAGE`) on its large
//! regions. Under a hypervisor that backs guest memory lazily and takes freed memory back
//! (free page reporting, which only reports free blocks of huge-page size), a huge page
//! is carved from such a returned block, so its first touch makes the host supply 2 MiB:
//! measured here at 2.6-7.7 s per GiB, against 0.2-0.6 s per GiB for 4 KiB pages, which
//! the kernel takes from smaller free blocks the host still backs (bench/chain,
//! BENCHMARKS.md "Huge pages"). An index build writes gigabytes once, so it runs on small
//! pages; the extra TLB misses cost less (about 1 s of user time against 13 s of kernel
//! time on the 10M-transaction sim chain). `DRAGNET_HUGE_PAGES=1` keeps huge pages, for
//! machines where they are cheap (bare metal).

/// Turns transparent huge pages off for this process (and the processes it starts), unless
/// `DRAGNET_HUGE_PAGES=1`. Call it first thing in `main`, before large allocations.
/// Returns whether huge pages are now off.
pub fn prefer_small_pages() -> bool {
    if std::env::var_os("DRAGNET_HUGE_PAGES").is_some_and(|v| v == "1") {
        return false;
    }
    disable_thp()
}

#[cfg(target_os = "linux")]
fn disable_thp() -> bool {
    // SAFETY: PR_SET_THP_DISABLE takes integer arguments only and changes no memory the
    // program can see; it sets a flag on the process's address space.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn disable_thp() -> bool {
    false
}

/// Whether transparent huge pages are off for this process (what
/// [`prefer_small_pages`] sets, read back from the kernel).
#[cfg(target_os = "linux")]
pub fn small_pages_in_force() -> bool {
    // SAFETY: PR_GET_THP_DISABLE reads a flag; no pointer is passed.
    unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) == 1 }
}

/// Whether transparent huge pages are off for this process (never, off Linux).
#[cfg(not(target_os = "linux"))]
pub fn small_pages_in_force() -> bool {
    false
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn huge_pages_are_off_after_the_call() {
        // Tests run in threads of one process: only check that the flag reads back set.
        assert!(super::prefer_small_pages() || std::env::var_os("DRAGNET_HUGE_PAGES").is_some_and(|v| v == "1"));
        if std::env::var_os("DRAGNET_HUGE_PAGES").is_none() {
            assert!(super::small_pages_in_force());
        }
    }
}
