//! The simulated office behind the generator: who is in (a plan per day: weekdays with a
//! lunch break, now and then a weekend morning) and how temperature, humidity, light and CO2
//! follow the time of day and the people.

use crate::generate::{format_significant, FIRST_SAMPLE_S};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

/// One day's occupancy plan: minutes of the day the office is occupied.
#[derive(Debug, Clone, Copy)]
struct DayPlan {
    day: i64,
    arrive: i64,
    leave: i64,
    lunch: Option<(i64, i64)>,
    cloud: f64,
}

impl DayPlan {
    fn new(day: i64, rng: &mut StdRng) -> Self {
        // 1970-01-01 was a Thursday: day % 7 == 2 is a Saturday, 3 a Sunday.
        let weekend = matches!(day.rem_euclid(7), 2 | 3);
        let cloud = rng.gen_range(0.3..1.0);
        if weekend {
            // Now and then someone comes in on a weekend morning.
            if rng.gen_bool(0.15) {
                let arrive = rng.gen_range(600..660);
                return Self {
                    day,
                    arrive,
                    leave: arrive + rng.gen_range(60..180),
                    lunch: None,
                    cloud,
                };
            }
            return Self {
                day,
                arrive: 0,
                leave: 0,
                lunch: None,
                cloud,
            };
        }
        let lunch = rng.gen_bool(0.6).then(|| {
            let out = rng.gen_range(715..750);
            (out, out + rng.gen_range(25..60))
        });
        Self {
            day,
            arrive: rng.gen_range(500..570),
            leave: rng.gen_range(1_020..1_110),
            lunch,
            cloud,
        }
    }

    fn occupied(&self, minute: i64) -> bool {
        let in_lunch = self.lunch.is_some_and(|(a, b)| (a..b).contains(&minute));
        (self.arrive..self.leave).contains(&minute) && !in_lunch
    }
}

/// The room's slowly changing state, one step per sample.
pub(crate) struct Room {
    rng: StdRng,
    plan: DayPlan,
    weather: f64,
    humidity_base: f64,
    heat: f64,
    co2: f64,
    co2_target_occupied: f64,
}

impl Room {
    /// The room at the first sample, its randomness seeded with `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let plan = DayPlan::new(FIRST_SAMPLE_S.div_euclid(86_400), &mut rng);
        Self {
            rng,
            plan,
            weather: 0.0,
            humidity_base: 27.0,
            heat: 1.0,
            co2: 720.0,
            co2_target_occupied: 900.0,
        }
    }

    /// The sample at `t` (seconds), `elapsed_min` minutes after the previous one.
    pub(crate) fn sample(&mut self, t: i64, elapsed_min: f64) -> [f64; 5] {
        let day = t.div_euclid(86_400);
        if day != self.plan.day {
            self.plan = DayPlan::new(day, &mut self.rng);
            self.co2_target_occupied = self.rng.gen_range(700.0..1_100.0);
        }
        let minute = t.rem_euclid(86_400) / 60;
        let hour = minute as f64 / 60.0;
        let occupied = self.plan.occupied(minute);
        let rng = &mut self.rng;

        // Outside weather drifts; the room follows the day and the people in it.
        self.weather = (self.weather + rng.gen_range(-0.01..0.01)).clamp(-1.5, 1.5);
        let heat_target = if occupied { 1.3 } else { 0.0 };
        self.heat += (heat_target - self.heat) * (1.0 - (-elapsed_min / 70.0).exp());
        let daily = 0.7 * (2.0 * PI * (hour - 9.0) / 24.0).sin();
        let temperature = 20.3 + daily + self.weather + self.heat + rng.gen_range(-0.04..0.04);

        self.humidity_base = (self.humidity_base + rng.gen_range(-0.05..0.05)).clamp(17.0, 38.0);
        let humidity = self.humidity_base + if occupied { 0.6 } else { 0.0 } - 0.3 * daily
            + rng.gen_range(-0.05..0.05);

        let daylight = if (7.5..17.5).contains(&hour) {
            (PI * (hour - 7.5) / 10.0).sin().max(0.0) * self.plan.cloud
        } else {
            0.0
        };
        let light = if occupied {
            420.0 + 90.0 * daylight + rng.gen_range(-8.0..12.0)
        } else if daylight > 0.0 {
            (140.0 * daylight + rng.gen_range(-3.0..3.0)).max(0.0)
        } else {
            0.0
        };

        let co2_target = if occupied {
            self.co2_target_occupied
        } else {
            440.0
        };
        let tau = if occupied { 40.0 } else { 110.0 };
        self.co2 += (co2_target - self.co2) * (1.0 - (-elapsed_min / tau).exp());
        let co2 = (self.co2 + rng.gen_range(-4.0..4.0)).max(400.0);
        [
            temperature,
            humidity,
            light,
            co2,
            f64::from(u8::from(occupied)),
        ]
    }

    /// A reading as the sensor box writes it: usually rounded to its resolution, sometimes the
    /// average of two or three raw readings printed with 15 significant digits.
    pub(crate) fn printed(&mut self, x: f64, resolution: f64) -> String {
        let base = (x / resolution).round() * resolution;
        if base <= 0.0 {
            // Dark is 0, never an average around it.
            return "0".into();
        }
        let averaged_over = match self.rng.gen_range(0..10) {
            0 => 3.0,
            1 | 2 => 2.0,
            _ => 1.0,
        };
        if averaged_over == 1.0 {
            return format_significant(base, 15);
        }
        let step = self.rng.gen_range(-1_i32..=1);
        let value = base + f64::from(step) * resolution / averaged_over;
        format_significant(value, 15)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_have_office_hours_and_weekends_are_mostly_empty() {
        let mut rng = StdRng::seed_from_u64(1);
        // 2015-02-04 (day 16470) was a Wednesday, 2015-02-07 a Saturday.
        let wednesday = DayPlan::new(16_470, &mut rng);
        assert!(wednesday.occupied(600), "10:00 on a weekday");
        assert!(!wednesday.occupied(180), "03:00");
        assert!(!wednesday.occupied(1_200), "20:00");
        let weekends_in = (0..200)
            .map(|_| DayPlan::new(16_473, &mut rng))
            .filter(|plan| (480..1_200).any(|m| plan.occupied(m)))
            .count();
        assert!(
            (5..80).contains(&weekends_in),
            "{weekends_in} of 200 Saturdays"
        );
    }

    #[test]
    fn readings_print_at_their_resolution_and_dark_is_zero() {
        let mut room = Room::new(4);
        for _ in 0..200 {
            let text = room.printed(23.184, 0.01);
            let x: f64 = text.parse().unwrap();
            assert!((x - 23.18).abs() < 0.0101, "{text}");
        }
        assert_eq!(room.printed(0.2, 1.0), "0");
        assert_eq!(room.printed(-0.4, 1.0), "0");
        let [_, _, light, co2, occupied] = room.sample(FIRST_SAMPLE_S + 6 * 3_600, 1.0);
        assert_eq!((light, occupied), (0.0, 0.0), "midnight is dark and empty");
        assert!(co2 >= 400.0);
    }
}
