//! Human-readable feature names, in vector order (written to the metadata as documentation).

use crate::features::{FeatureSpec, DELAY_KNOTS, WEATHER_COLUMNS};

impl FeatureSpec {
    /// Human-readable name of every feature, in vector order.
    pub fn feature_names(&self) -> Vec<String> {
        let mut n: Vec<String> = vec!["delay_missing".into(), "delay".into()];
        n.extend(DELAY_KNOTS.iter().map(|k| format!("delay_hinge_{k}")));
        n.extend(["delay_log1p", "delay_pos60"].map(String::from));
        n.extend(["log_distance", "distance_missing", "log_distance_x_delay"].map(String::from));
        n.extend(["hour_centred", "hour_x_delay"].map(String::from));
        n.extend(
            [
                "month_sin",
                "month_cos",
                "month_sin_x_delay",
                "month_cos_x_delay",
            ]
            .map(String::from),
        );
        n.extend(["month_sin_x_log_distance", "month_cos_x_log_distance"].map(String::from));
        n.extend(WEATHER_COLUMNS.iter().map(|c| c.to_lowercase()));
        n.extend(
            WEATHER_COLUMNS
                .iter()
                .map(|c| format!("{}_missing", c.to_lowercase())),
        );
        n.extend(["rain", "low_visibility"].map(String::from));
        n.extend(
            [
                "temperature",
                "wind_speed",
                "visibility",
                "rain",
                "low_visibility",
            ]
            .map(|c| format!("{c}_x_delay")),
        );
        n.push("temperature_x_log_distance".into());
        n.extend((0..24).map(|h| format!("hour_{h}")));
        n.push("hour_other".into());
        n.extend((1..=7).map(|d| format!("dow_{d}")));
        n.push("dow_other".into());
        for (prefix, vocab) in [
            ("airline", &self.airlines),
            ("origin", &self.origins),
            ("dest", &self.destinations),
        ] {
            n.extend(vocab.values().iter().map(|v| format!("{prefix}_{v}")));
            n.push(format!("{prefix}_other"));
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use crate::features::DENSE_DIM;
    use crate::testutil::synthetic_flights;
    use crate::FeatureSpec;

    #[test]
    fn names_match_dimension_and_dense_part() {
        let s = FeatureSpec::fit(&synthetic_flights(200, 1), 1);
        let names = s.feature_names();
        assert_eq!(names.len(), s.dim());
        assert_eq!(names[DENSE_DIM - 1], "temperature_x_log_distance");
        assert_eq!(names[DENSE_DIM], "hour_0");
        assert_eq!(s.dim(), DENSE_DIM + 25 + 8 + 5 + 4 + 6);
        assert_eq!(names.last().map(String::as_str), Some("dest_other"));
    }
}
