//! Page-by-page scans (`range_page`, `fetch_page`, `all_page`) give exactly the full scan, in
//! order, for the in-memory stores and the sled stores (with entries both in sled and in the
//! write cache, some of them deleted).
#![allow(clippy::unwrap_used, clippy::panic)]

use weir_state::memory::{
    InMemoryHashWindowStore, InMemoryKeyValueStore, InMemorySessionStore, InMemoryWindowStore,
};
use weir_state::sled::{SledKeyValueStore, SledSessionStore, SledWindowStore};
use weir_state::{KeyValueStore, SessionStore, Window, WindowStore};

fn db() -> sled::Db {
    sled::Config::new().temporary(true).open().unwrap()
}

fn kv_pages(store: &dyn KeyValueStore<String, i64>, limit: usize) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for _ in 0..1_000 {
        let page = store.range_page(out.last().map(|(k, _)| k), limit).unwrap();
        assert!(page.len() <= limit);
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
    panic!("the pages never ended")
}

fn fill_kv(store: &mut dyn KeyValueStore<String, i64>) {
    for i in 0..50 {
        store.put(format!("k{i:02}"), i).unwrap();
    }
    store.flush().unwrap();
    // Some in the write cache only, some overwritten or deleted there.
    for i in (0..60).step_by(3) {
        store.put(format!("k{i:02}"), 100 + i).unwrap();
    }
    for i in (1..50).step_by(7) {
        store.delete(&format!("k{i:02}")).unwrap();
    }
}

#[test]
fn key_value_pages_equal_the_full_scan() {
    let db = db();
    let mut stores: Vec<Box<dyn KeyValueStore<String, i64>>> = vec![
        Box::new(InMemoryKeyValueStore::new("m")),
        Box::new(SledKeyValueStore::open(&db, "s", 0, 1_000).unwrap()),
    ];
    for store in &mut stores {
        fill_kv(store.as_mut());
        let all = store.all().unwrap();
        assert!(all.len() > 40);
        for limit in [1, 4, 7, 1_000] {
            assert_eq!(kv_pages(store.as_ref(), limit), all, "limit {limit}");
        }
        assert!(store.range_page(None, 0).unwrap().is_empty());
    }
}

#[test]
fn window_pages_equal_the_full_scan() {
    let db = db();
    let mut stores: Vec<Box<dyn WindowStore<String, i64>>> = vec![
        Box::new(InMemoryWindowStore::new("m")),
        Box::new(InMemoryHashWindowStore::new("h")),
        Box::new(SledWindowStore::open(&db, "s", 0, Some(10), 8).unwrap()),
    ];
    for store in &mut stores {
        for i in 0..40i64 {
            store.put(format!("k{}", i % 7), i * 10, i).unwrap();
        }
        store.delete(&"k3".to_owned(), 30).unwrap();
        let all = store.fetch_all(i64::MIN, i64::MAX).unwrap();
        for limit in [1, 3, 5, 100] {
            let mut out: Vec<(String, i64, i64)> = Vec::new();
            for _ in 0..100 {
                let after = out.last().map(|(k, t, _)| (k, *t));
                let page = store.fetch_page(after, limit).unwrap();
                assert!(page.len() <= limit);
                if page.is_empty() {
                    break;
                }
                out.extend(page);
            }
            assert_eq!(out, all, "limit {limit}");
        }
    }
}

#[test]
fn session_pages_equal_the_full_scan() {
    let db = db();
    let mut stores: Vec<Box<dyn SessionStore<String, i64>>> = vec![
        Box::new(InMemorySessionStore::new("m")),
        Box::new(SledSessionStore::open(&db, "s", 0, 4).unwrap()),
    ];
    for store in &mut stores {
        for i in 0..30i64 {
            let w = Window::new(i * 10, i * 10 + (i % 4));
            store.put(format!("k{}", i % 4), w, i).unwrap();
        }
        let all = store.all().unwrap();
        for limit in [1, 4, 100] {
            let mut out: Vec<(String, Window, i64)> = Vec::new();
            for _ in 0..100 {
                let after = out.last().map(|(k, w, _)| (k, *w));
                let page = store.all_page(after, limit).unwrap();
                if page.is_empty() {
                    break;
                }
                out.extend(page);
            }
            assert_eq!(out, all, "limit {limit}");
        }
    }
}
