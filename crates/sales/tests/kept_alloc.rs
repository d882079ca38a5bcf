//! A kept file (`CASE/derived/*.bin`, which a case received from someone
//! else may hold) claims its lengths before their bytes are read: decoding
//! must allocate no more than the file's size could hold, and still decode
//! every file dragnet writes. One test in this binary, so that no other
//! thread's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, remembering the largest block asked for.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

#[test]
fn a_kept_file_allocates_what_its_size_could_hold() {
    // Found by the sales_kept fuzz target: five bytes whose key length says
    // 2 GiB, which bincode allocated before finding the bytes missing.
    let crafted = [0xfc, 0x00, 0x01, 0x00, 0x80];
    LARGEST.store(0, Ordering::Relaxed);
    assert!(sales::decode_kept::<sales::LedgerSummary>(&crafted, "key").is_none());
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest <= 1 << 20, "{largest} bytes allocated to decode {} bytes", crafted.len());

    // Files dragnet writes still decode under their limits: many empty
    // strings (one byte each, 24 in memory) and long ones (as many bytes
    // claimed as written).
    for strings in [vec![String::new(); 200_000], vec!["x".repeat(1 << 21); 3]] {
        let bytes = sales::encode_kept("key", &strings).unwrap();
        assert_eq!(sales::decode_kept::<Vec<String>>(&bytes, "key").as_ref(), Some(&strings));
        assert_eq!(sales::decode_kept::<Vec<String>>(&bytes, "other key"), None);
    }
}
