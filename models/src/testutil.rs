//! Test helpers shared by the unit tests: synthetic flights and tiny training runs.
#![allow(clippy::unwrap_used)]

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::flight::Flight;
use crate::metadata::ModelKind;
use crate::model::Model;
use crate::train::{train_model, TrainConfig};

/// Synthetic flights whose arrival delay is the departure delay plus noise.
pub(crate) fn synthetic_flights(n: usize, seed: u64) -> Vec<Flight> {
    let mut rng = StdRng::seed_from_u64(seed);
    let airlines = ["AA", "UA", "B6", "DL"];
    let dests = ["LAX", "ORD", "BOS", "ATL", "MIA"];
    (0..n)
        .map(|i| {
            let dep: f64 = if rng.gen_bool(0.3) {
                rng.gen_range(0.0..120.0)
            } else {
                rng.gen_range(-10.0..10.0)
            };
            let cancelled = i % 37 == 0;
            Flight {
                year: 2013,
                month: 1 + (i % 12) as i64,
                day: 1,
                day_of_week: 1 + (i % 7) as i64,
                airline: airlines[i % airlines.len()].into(),
                origin_airport: ["JFK", "LGA", "EWR"][i % 3].into(),
                destination_airport: dests[i % dests.len()].into(),
                scheduled_departure: 600 + 100 * (i % 15) as i64,
                departure_delay: (!cancelled).then_some(dep),
                distance: Some(rng.gen_range(200.0..2500.0)),
                arrival_delay: (!cancelled).then(|| dep - 5.0 + rng.gen_range(-10.0..10.0)),
                temperature: (i % 11 != 0).then(|| rng.gen_range(20.0..90.0)),
                wind_speed: Some(rng.gen_range(0.0..25.0)),
                visibility: Some(10.0),
                precipitation: Some(0.0),
                ..Flight::default()
            }
        })
        .collect()
}

/// A small config that trains in well under a second.
pub(crate) fn quick_config(kind: ModelKind) -> TrainConfig {
    TrainConfig {
        epochs: 20,
        batch_size: 64,
        learning_rate: 0.02,
        min_count: 1,
        hidden: if kind == ModelKind::Mlp {
            vec![8]
        } else {
            vec![]
        },
        ensemble: if kind == ModelKind::Mlp { 2 } else { 1 },
        ..TrainConfig::new(kind, 7)
    }
}

pub(crate) fn quick_model(kind: ModelKind) -> Model {
    let train = synthetic_flights(400, 1);
    let test = synthetic_flights(200, 2);
    train_model(&train, &test, &quick_config(kind), (vec![1], vec![2])).unwrap()
}
