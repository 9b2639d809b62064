//! The simulation the producers run: trains moving along the three lines one station per step
//! (to the end of the line and back), turnstile entries per station per step from a ridership
//! curve over the day (fewer in bad weather), and a weather reading every simulated hour. Pure
//! and seeded: the same stations, seed and start give the same events.

use crate::schemas::{arrival_topic, Arrival, EventKey, Turnstile, Weather};
use crate::stations::{LineStations, TransformedStation};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// How the simulation runs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the random choices.
    pub seed: u64,
    /// Simulated time of the first step, ms since the epoch.
    pub start_ms: i64,
    /// Simulated time between steps, ms.
    pub step_ms: i64,
    /// Steps to run.
    pub steps: usize,
    /// Trains on each line.
    pub trains_per_line: usize,
    /// A weather reading every this many steps (and at the first).
    pub weather_every: usize,
}

impl SimConfig {
    /// `steps` steps of 2 simulated minutes from `start_ms`, 8 trains a line, hourly weather.
    pub fn new(seed: u64, start_ms: i64, steps: usize) -> Self {
        Self {
            seed,
            start_ms,
            step_ms: 120_000,
            steps,
            trains_per_line: 8,
            weather_every: 30,
        }
    }
}

/// An arrival and the topic it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivalEvent {
    /// `org.chicago.cta.station.arrivals.<station>`.
    pub topic: String,
    /// Its key.
    pub key: EventKey,
    /// Its value.
    pub arrival: Arrival,
}

/// What happens in one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The step's number, from 0.
    pub index: usize,
    /// Its simulated time, ms.
    pub at_ms: i64,
    /// Train arrivals.
    pub arrivals: Vec<ArrivalEvent>,
    /// Turnstile entries, one event per passenger.
    pub turnstiles: Vec<Turnstile>,
    /// The weather reading, on the hour.
    pub weather: Option<Weather>,
}

struct Train {
    line: usize,
    id: String,
    /// Place on the line's round trip: `0..n-1` going `a`, `n-1..2(n-1)` coming back `b`.
    position: usize,
    previous: Option<(u32, String)>,
}

/// The running simulation; [`Simulation::next`] gives the steps in order.
pub struct Simulation {
    config: SimConfig,
    lines: Vec<LineStations>,
    trains: Vec<Train>,
    rng: StdRng,
    weather: Weather,
    step: usize,
}

const WEATHER: [&str; 5] = ["sunny", "partly_cloudy", "cloudy", "windy", "precipitation"];

impl Simulation {
    /// A simulation over `lines` (lines without stations get no trains).
    pub fn new(config: SimConfig, lines: Vec<LineStations>) -> Self {
        let mut trains = Vec::new();
        for (l, line) in lines.iter().enumerate() {
            let round_trip = 2 * line.stations.len().saturating_sub(1);
            if round_trip == 0 {
                continue;
            }
            let prefix = line.line.chars().take(2).collect::<String>().to_uppercase();
            for t in 0..config.trains_per_line {
                trains.push(Train {
                    line: l,
                    id: format!("{prefix}{:03}", t + 1),
                    position: t * round_trip / config.trains_per_line.max(1),
                    previous: None,
                });
            }
        }
        let rng = StdRng::seed_from_u64(config.seed);
        let weather = Weather {
            temperature: 38.0,
            status: "cloudy".into(),
        };
        Self {
            config,
            lines,
            trains,
            rng,
            weather,
            step: 0,
        }
    }

    fn station_at(
        stations: &[TransformedStation],
        position: usize,
    ) -> (&TransformedStation, &'static str) {
        let last = stations.len() - 1;
        if position < last {
            (&stations[position], "a")
        } else {
            (&stations[2 * last - position], "b")
        }
    }

    fn move_trains(&mut self, at_ms: i64) -> Vec<ArrivalEvent> {
        let mut events = Vec::new();
        for train in &mut self.trains {
            let stations = &self.lines[train.line].stations;
            let round_trip = 2 * (stations.len() - 1);
            train.position = (train.position + 1) % round_trip;
            let (station, direction) = Self::station_at(stations, train.position);
            let status = match self.rng.gen_range(0..100) {
                0..=84 => "on_time",
                85..=98 => "delayed",
                _ => "out_of_service",
            };
            let arrival = Arrival {
                station_id: station.station_id,
                train_id: train.id.clone(),
                direction: direction.to_string(),
                line: station.line.clone(),
                train_status: status.to_string(),
                prev_station_id: train.previous.as_ref().map(|(id, _)| *id),
                prev_direction: train.previous.as_ref().map(|(_, d)| d.clone()),
            };
            train.previous = Some((station.station_id, direction.to_string()));
            events.push(ArrivalEvent {
                topic: arrival_topic(&station.station_name),
                key: EventKey { timestamp: at_ms },
                arrival,
            });
        }
        events
    }

    fn next_weather(&mut self) -> Weather {
        let temperature =
            (self.weather.temperature + self.rng.gen_range(-3.0..3.0)).clamp(-10.0, 100.0);
        let status = WEATHER[self.rng.gen_range(0..WEATHER.len())];
        self.weather = Weather {
            temperature: (temperature * 10.0).round() / 10.0,
            status: status.to_string(),
        };
        self.weather.clone()
    }

    fn turnstiles(&mut self, at_ms: i64) -> Vec<Turnstile> {
        let factor = match self.weather.status.as_str() {
            "precipitation" => 0.6,
            "windy" => 0.8,
            _ => 1.0,
        };
        let rate = ridership(hour_in_chicago(at_ms)) * factor;
        let most = (2.0 * rate).round() as u32;
        let mut events = Vec::new();
        for line in &self.lines {
            for station in &line.stations {
                for _ in 0..self.rng.gen_range(0..=most) {
                    events.push(Turnstile {
                        station_id: station.station_id,
                        station_name: station.station_name.clone(),
                        line: station.line.clone(),
                    });
                }
            }
        }
        events
    }
}

impl Iterator for Simulation {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        if self.step >= self.config.steps {
            return None;
        }
        let index = self.step;
        self.step += 1;
        let at_ms = self.config.start_ms + index as i64 * self.config.step_ms;
        let weather = (index.checked_rem(self.config.weather_every.max(1)) == Some(0))
            .then(|| self.next_weather());
        let arrivals = self.move_trains(at_ms);
        let turnstiles = self.turnstiles(at_ms);
        Some(Step {
            index,
            at_ms,
            arrivals,
            turnstiles,
            weather,
        })
    }
}

/// The hour of the day in Chicago (UTC-6, daylight saving ignored).
pub fn hour_in_chicago(at_ms: i64) -> i64 {
    (at_ms.div_euclid(3_600_000) - 6).rem_euclid(24)
}

/// Mean entries per station per step at `hour`: quiet at night, peaks at 7-9 and 16-18.
pub fn ridership(hour: i64) -> f64 {
    match hour {
        0..=4 => 0.3,
        5..=6 | 19..=22 => 1.0,
        7..=9 | 16..=18 => 3.0,
        10..=15 => 1.5,
        _ => 0.5,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::generate::{generate, SEED};
    use crate::stations::lines;

    fn simulation(steps: usize) -> Simulation {
        Simulation::new(
            SimConfig::new(1, 1_700_000_000_000, steps),
            lines(&generate(SEED)),
        )
    }

    #[test]
    fn trains_move_one_station_a_step_and_turn_at_the_ends() {
        let steps: Vec<Step> = simulation(80).collect();
        assert_eq!(steps.len(), 80);
        let blue: Vec<&ArrivalEvent> = steps
            .iter()
            .flat_map(|s| &s.arrivals)
            .filter(|a| a.arrival.train_id == "BL001")
            .collect();
        assert_eq!(blue.len(), 80);
        for pair in blue.windows(2) {
            assert_eq!(
                pair[1].arrival.prev_station_id,
                Some(pair[0].arrival.station_id)
            );
            assert_eq!(
                pair[1].arrival.prev_direction.as_deref(),
                Some(pair[0].arrival.direction.as_str())
            );
        }
        assert!(
            blue.iter().any(|a| a.arrival.direction == "b"),
            "it came back"
        );
        assert_eq!(steps[0].arrivals.len(), 24, "8 trains on each of 3 lines");
        assert!(steps
            .iter()
            .all(|s| s.arrivals.iter().all(|a| a.key.timestamp == s.at_ms)));
    }

    #[test]
    fn weather_comes_hourly_and_riders_follow_the_day() {
        let steps: Vec<Step> = simulation(61).collect();
        let readings: Vec<usize> = steps
            .iter()
            .filter(|s| s.weather.is_some())
            .map(|s| s.index)
            .collect();
        assert_eq!(readings, [0, 30, 60]);
        assert!(steps.iter().map(|s| s.turnstiles.len()).sum::<usize>() > 0);
        assert!(ridership(8) > ridership(2));
        assert_eq!(hour_in_chicago(6 * 3_600_000), 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_events() {
        let a: Vec<Step> = simulation(5).collect();
        let b: Vec<Step> = simulation(5).collect();
        assert_eq!(a, b);
    }
}
