//! The borrowed proxy-list parser allocates nothing per line.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicUsize, Ordering},
};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn iterating_a_large_list_allocates_nothing() {
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!(
            "nl.gw.op-proxy.com:{}:login{i}:pw{i}\r\n",
            8000 + i % 1000
        ));
        text.push_str(&format!(
            "login{i}:pw{i}@de.gw.op-proxy.com:{}\n",
            9000 + i % 1000
        ));
        text.push_str("at.gw.op-proxy.com:8000\n\n");
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut ports = 0u64;
    let mut with_auth = 0usize;
    for e in opx::proxies::ProxyLines::new(&text) {
        let e = e.expect("valid line");
        ports += u64::from(e.port());
        with_auth += usize::from(e.password().is_some());
    }
    let bad = opx::proxies::ProxyLines::new("x\ny:0\n")
        .filter(Result::is_err)
        .count();
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(after - before, 0, "allocations while parsing");
    assert_eq!(with_auth, 20_000);
    assert_eq!(bad, 2);
    assert!(ports > 0);
}
