//! The stream-stream join processor's unit tests, and a randomized comparison of the join on
//! ordered in-memory stores with the join on hashed in-memory stores and on sled stores,
//! restarted from them now and then.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::stores::StoreHandle;
use crate::testing::MockProcessorContext;
use std::time::Duration;
use weir_state::memory::{InMemoryHashWindowStore, InMemoryWindowStore};

type Join = StreamStreamJoin<String, i32, i32, String>;
type Ctx = MockProcessorContext<String, String>;

fn join(windows: JoinWindows, left_outer: bool, right_outer: bool) -> (Join, Ctx) {
    let spec = Arc::new(JoinSpec {
        windows,
        left_outer,
        right_outer,
        left_store: "l".into(),
        right_store: "r".into(),
    });
    let joiner: PairJoiner<i32, i32, String> = Arc::new(|pair| {
        Some(match pair {
            Pair::Both(l, r) => format!("{l}+{r}"),
            Pair::LeftOnly(l) => format!("{l}+_"),
            Pair::RightOnly(r) => format!("_+{r}"),
        })
    });
    let mut ctx = MockProcessorContext::new()
        .with_window_store::<String, Slot<i32>>("l")
        .with_window_store::<String, Slot<i32>>("r");
    ctx.set_stream_time(Timestamp::MIN);
    let mut j = StreamStreamJoin::new(spec, joiner);
    j.init(&mut ctx).unwrap();
    (j, ctx)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn left(j: &mut Join, ctx: &mut Ctx, k: &str, v: i32, t: Timestamp) {
    j.process(Record::new(k.into(), Side::Left(v), t), ctx)
        .unwrap();
}

fn right(j: &mut Join, ctx: &mut Ctx, k: &str, v: i32, t: Timestamp) {
    j.process(Record::new(k.into(), Side::Right(v), t), ctx)
        .unwrap();
}

fn out(ctx: &mut Ctx) -> Vec<(String, String, Timestamp)> {
    ctx.take_forwarded()
        .into_iter()
        .map(|f| {
            let t = f.record.timestamp();
            let (k, v) = f.record.into_key_value();
            (k, v, t)
        })
        .collect()
}

fn o(k: &str, v: &str, t: Timestamp) -> (String, String, Timestamp) {
    (k.into(), v.into(), t)
}

#[test]
fn inner_join_pairs_records_within_the_window_at_the_later_time() {
    let (mut j, mut ctx) = join(JoinWindows::of(ms(10)).grace(ms(10)), false, false);
    left(&mut j, &mut ctx, "a", 1, 100);
    right(&mut j, &mut ctx, "a", 2, 105);
    right(&mut j, &mut ctx, "b", 3, 105); // other key
    right(&mut j, &mut ctx, "a", 4, 111); // 11 ms after the left record
    left(&mut j, &mut ctx, "a", 5, 104); // in grace; joins 2 (at 105) and 4 (7 ms later)
    assert_eq!(
        out(&mut ctx),
        [o("a", "1+2", 105), o("a", "5+2", 105), o("a", "5+4", 111)]
    );
}

#[test]
fn before_and_after_bound_each_direction() {
    let w = JoinWindows::of(ms(0)).after(ms(5));
    let (mut j, mut ctx) = join(w, false, false);
    left(&mut j, &mut ctx, "a", 1, 100);
    right(&mut j, &mut ctx, "a", 2, 99); // before the left record: outside
    right(&mut j, &mut ctx, "a", 3, 105); // 5 ms after: inside
    assert_eq!(out(&mut ctx), [o("a", "1+3", 105)]);
}

#[test]
fn left_join_emits_an_unmatched_record_only_once_its_window_closed() {
    let (mut j, mut ctx) = join(JoinWindows::of(ms(10)).grace(ms(2)), true, false);
    left(&mut j, &mut ctx, "a", 1, 100);
    right(&mut j, &mut ctx, "z", 9, 112); // stream time 112 = 100 + after + grace: open
    assert_eq!(out(&mut ctx), []);
    right(&mut j, &mut ctx, "z", 9, 113);
    assert_eq!(out(&mut ctx), [o("a", "1+_", 100)]);
    right(&mut j, &mut ctx, "z", 9, 500); // emitted once
    assert_eq!(out(&mut ctx), []);
}

#[test]
fn a_partner_in_time_cancels_the_unmatched_result() {
    let (mut j, mut ctx) = join(JoinWindows::of(ms(10)).grace(ms(5)), true, true);
    left(&mut j, &mut ctx, "a", 1, 100);
    right(&mut j, &mut ctx, "z", 7, 112);
    right(&mut j, &mut ctx, "a", 2, 108); // out of order, within grace: joins
    left(&mut j, &mut ctx, "z", 8, 1_000);
    assert_eq!(
        out(&mut ctx),
        [o("a", "1+2", 108), o("z", "_+7", 112)],
        "a's pair joined; only z's right record was unmatched"
    );
}

#[test]
fn records_later_than_grace_are_dropped_and_counted() {
    let (mut j, mut ctx) = join(JoinWindows::of(ms(10)).grace(ms(5)), true, false);
    right(&mut j, &mut ctx, "a", 2, 200);
    left(&mut j, &mut ctx, "a", 1, 194); // 194 + 5 < 200: late
    assert_eq!(ctx.late_count(), 1);
    left(&mut j, &mut ctx, "a", 3, 195); // on time
    assert_eq!(ctx.late_count(), 1);
    assert_eq!(out(&mut ctx), [o("a", "3+2", 200)]);
}

#[test]
fn equal_keys_and_times_are_all_kept_and_joined() {
    let (mut j, mut ctx) = join(JoinWindows::of(ms(1)), true, false);
    left(&mut j, &mut ctx, "a", 1, 100);
    left(&mut j, &mut ctx, "a", 2, 100);
    right(&mut j, &mut ctx, "a", 3, 100);
    assert_eq!(out(&mut ctx), [o("a", "1+3", 100), o("a", "2+3", 100)]);
    left(&mut j, &mut ctx, "b", 4, 100);
    left(&mut j, &mut ctx, "b", 5, 100);
    right(&mut j, &mut ctx, "z", 0, 102);
    assert_eq!(out(&mut ctx), [o("b", "4+_", 100), o("b", "5+_", 100)]);
}

#[test]
fn buffers_are_expired_with_stream_time() {
    let (mut j, mut ctx) = join(JoinWindows::of(ms(100)), true, true);
    for t in 0..20_000 {
        left(&mut j, &mut ctx, &format!("k{}", t % 7), 1, t);
        right(&mut j, &mut ctx, &format!("k{}", t % 5), 1, t);
    }
    let store = ctx
        .store::<WindowStoreHandle<String, Slot<i32>>>("l")
        .unwrap();
    let len = store.lock().len().unwrap();
    assert!(len <= 1_200, "the left buffer holds {len} slots");
}

/// The slot's encoding is the one stores written by earlier builds hold.
#[test]
fn a_slot_encodes_as_a_vec_of_values_and_the_flag() {
    #[derive(Serialize)]
    struct Before {
        values: Vec<i32>,
        matched: bool,
    }
    for values in [vec![7], vec![1, 2, 3]] {
        let before = Before {
            values: values.clone(),
            matched: true,
        };
        let bytes = bincode::serialize(&before).unwrap();
        let slot: Slot<i32> = bincode::deserialize(&bytes).unwrap();
        assert_eq!(slot.values.as_slice(), values.as_slice());
        assert!(slot.matched);
        assert_eq!(bincode::serialize(&slot).unwrap(), bytes);
    }
}

#[test]
fn a_restarted_join_emits_each_unmatched_record_once() {
    let (mut j, mut ctx) = join(JoinWindows::of(ms(10)), true, true);
    left(&mut j, &mut ctx, "a", 1, 100);
    right(&mut j, &mut ctx, "b", 2, 105);
    right(&mut j, &mut ctx, "c", 3, 111); // closes a's left record
    assert_eq!(out(&mut ctx), [o("a", "1+_", 100)]);
    // A new instance over the same stores, at the committed stream time.
    ctx.set_stream_time(111);
    let mut again = StreamStreamJoin::new(j.spec.clone(), j.joiner.clone());
    again.init(&mut ctx).unwrap();
    right(&mut again, &mut ctx, "z", 0, 200);
    assert_eq!(out(&mut ctx), [o("b", "_+2", 105), o("c", "_+3", 111)]);
}

// ---- the join on sled stores, restarted, against the join in memory ----

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> i64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n) as i64
    }
}

/// One input record: left side?, key, value, time.
type In = (bool, String, i32, Timestamp);

/// Which stores the join runs on.
#[derive(Clone)]
enum Stores {
    /// In memory, ordered maps (as `MockProcessorContext` opens them).
    Ordered,
    /// In memory, hash tables (as the in-memory backend opens the join's stores).
    Hashed,
    /// Sled, restarted from what was flushed.
    Sled(weir_state::sled::SledBackend),
}

/// Where the join's stores live, and which records it restarts before.
struct Run<'a> {
    spec: Arc<JoinSpec>,
    input: &'a [In],
    /// Restart (flush the stores, open them again, a new join at the stream time) before these
    /// input positions.
    restarts: &'a [usize],
    stores: Stores,
}

fn text_joiner() -> PairJoiner<i32, i32, String> {
    Arc::new(|pair| {
        Some(match pair {
            Pair::Both(l, r) => format!("{l}+{r}"),
            Pair::LeftOnly(l) => format!("{l}+_"),
            Pair::RightOnly(r) => format!("_+{r}"),
        })
    })
}

impl Run<'_> {
    fn context(&self, memory: &mut Option<(StoreHandle, StoreHandle)>) -> Ctx {
        let (l, r) = match (&self.stores, memory.as_ref()) {
            (Stores::Sled(b), _) => {
                let open = |name: &str| {
                    let store = b.open_window::<String, Slot<i32>>(name, 0, None).unwrap();
                    WindowStoreHandle::new(Box::new(store)).erase()
                };
                (open("l"), open("r"))
            }
            (_, Some(stores)) => stores.clone(),
            (kind, None) => {
                let open = |name: &str| {
                    let store: Box<dyn weir_state::WindowStore<String, Slot<i32>>> = match kind {
                        Stores::Hashed => Box::new(InMemoryHashWindowStore::new(name)),
                        _ => Box::new(InMemoryWindowStore::new(name)),
                    };
                    WindowStoreHandle::new(store).erase()
                };
                let stores = (open("l"), open("r"));
                *memory = Some(stores.clone());
                stores
            }
        };
        MockProcessorContext::new()
            .with_store("l", l)
            .with_store("r", r)
    }

    /// The join's outputs and late count.
    fn outputs(&self) -> (Vec<(String, String, Timestamp)>, u64) {
        let mut memory = None;
        let (mut outs, mut late) = (Vec::new(), 0);
        let mut ctx = self.context(&mut memory);
        ctx.set_stream_time(Timestamp::MIN);
        let mut j = StreamStreamJoin::new(self.spec.clone(), text_joiner());
        j.init(&mut ctx).unwrap();
        for (i, (is_left, key, v, t)) in self.input.iter().enumerate() {
            if self.restarts.contains(&i) {
                let st = j.state.as_ref().unwrap().observed;
                for name in ["l", "r"] {
                    let h = ctx
                        .store::<WindowStoreHandle<String, Slot<i32>>>(name)
                        .unwrap();
                    h.lock().flush().unwrap();
                }
                outs.extend(out(&mut ctx));
                late += ctx.late_count();
                drop(j);
                ctx = self.context(&mut memory);
                ctx.set_stream_time(st);
                j = StreamStreamJoin::new(self.spec.clone(), text_joiner());
                j.init(&mut ctx).unwrap();
            }
            let side = if *is_left {
                Side::Left(*v)
            } else {
                Side::Right(*v)
            };
            j.process(Record::new(key.clone(), side, *t), &mut ctx)
                .unwrap();
        }
        // The end of input: stream time moves to the end of time.
        ctx.set_stream_time(Timestamp::MAX);
        j.punctuate(PunctuationType::StreamTime, Timestamp::MAX, &mut ctx)
            .unwrap();
        outs.extend(out(&mut ctx));
        (outs, late + ctx.late_count())
    }
}

#[test]
fn the_join_gives_the_same_results_on_every_store_and_across_restarts() {
    let mut rng = Rng(0x0005_1ED0_7E57_0001);
    let mut restarted = 0;
    for case in 0..300 {
        let ms = |n: i64| Duration::from_millis(n as u64);
        let windows = JoinWindows::of(Duration::ZERO)
            .before(ms(rng.below(15)))
            .after(ms(rng.below(15)))
            .grace(ms(rng.below(10)));
        let spec = Arc::new(JoinSpec {
            windows,
            left_outer: rng.below(2) == 0,
            right_outer: rng.below(2) == 0,
            left_store: "l".into(),
            right_store: "r".into(),
        });
        let mut t = 30;
        let n = 5 + rng.below(60) as usize;
        let input: Vec<In> = (0..n)
            .map(|id| {
                t += rng.below(6);
                // Mostly in order; some records jump back (some beyond grace); equal times too.
                let jitter = if rng.below(4) == 0 { rng.below(25) } else { 0 };
                let key = format!("k{}", rng.below(4));
                (rng.below(2) == 0, key, id as i32, t - jitter)
            })
            .collect();
        let restarts: Vec<usize> = (1..n).filter(|_| rng.below(6) == 0).collect();
        restarted += restarts.len();
        let db = ::sled::Config::new().temporary(true).open().unwrap();
        let options = weir_state::sled::SledOptions {
            cache_capacity_bytes: 1 << 20,
            write_cache_entries: rng.below(4) as usize,
            read_cache_bytes: 0,
        };
        let backend = weir_state::sled::SledBackend::from_db(Arc::new(db), options);
        let run = |restarts: &[usize], stores: Stores| {
            let (spec, input) = (spec.clone(), &input);
            Run {
                spec,
                input,
                restarts,
                stores,
            }
            .outputs()
        };
        let memory = run(&[], Stores::Ordered);
        let context = format!("case {case}: {:?}, input {input:?}", spec);
        for stores in [Stores::Ordered, Stores::Hashed, Stores::Sled(backend)] {
            let name = match &stores {
                Stores::Ordered => "ordered maps",
                Stores::Hashed => "hash tables",
                Stores::Sled(_) => "sled",
            };
            let got = run(&restarts, stores.clone());
            assert_eq!(got, memory, "{name}, restarted at {restarts:?}, {context}");
            if matches!(stores, Stores::Hashed) {
                assert_eq!(run(&[], stores), memory, "{name}, {context}");
            }
        }
    }
    assert!(restarted > 300, "{restarted} restarts");
}
