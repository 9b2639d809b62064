//! The consumer's charts, each written as `<out>/<name>.png` and `.svg` and, with a
//! [`Dashboard`], shown live (the scatter plot too: a circle per answer as it is counted, the
//! newest 10,000 per nationality, as the dashboard keeps them):
//!
//! - `gender_bar`, `gender_pie`, `gender_line`: participants per gender as bars, as a pie, and
//!   as a line over the gender categories, fed by the updates of the per-gender count table
//!   (each update replaces its category's value, so the charts end with the final counts).
//! - `age_nationality_scatter`: a point per answer, at x = the nationality's row (nationalities
//!   numbered 1, 2... in the order they first came, case normalised) and y = the age; each
//!   nationality is a series whose legend entry is `NN Name`, `NN` its row.
//!
//! A row the consumer set aside (no usable age, a missing column) is in none of them: the
//! consumer never reads it as an answer, so it is neither counted in the gender charts nor
//! placed in the scatter plot; the summary lists it instead.

use crate::survey::Answer;
use parking_lot::Mutex;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::sinks::chart::ChartData;
use weir::processors::{ChartSink, ChartSpec, Dashboard, Panel, Point};
use weir::topology::{Result, SharedSink, Timestamp};

/// The least time between two renders of a chart during a run.
pub const RENDER_INTERVAL: Duration = Duration::from_secs(1);
/// The series name of the per-gender counts in the gender charts.
pub const PARTICIPANTS: &str = "participants";

/// Turns one record into chart points.
pub type Extract<V> = Box<dyn Fn(&String, &V, Timestamp) -> Vec<Point> + Send>;

/// One chart, fed by the tasks of the consumer.
pub type Chart<V> = SharedSink<ChartSink<String, V, Extract<V>>>;

/// The consumer's four charts.
#[derive(Clone)]
pub struct Charts {
    /// Participants per gender, as bars.
    pub gender_bar: Chart<u64>,
    /// Participants per gender, as a pie.
    pub gender_pie: Chart<u64>,
    /// Participants per gender, as a line over the gender categories.
    pub gender_line: Chart<u64>,
    /// Age against nationality, a point per answer.
    pub scatter: Chart<Answer>,
}

/// The points each chart was given (what its files show).
#[derive(Debug, Clone, PartialEq)]
pub struct ChartsData {
    /// Of `gender_bar`.
    pub gender_bar: ChartData,
    /// Of `gender_pie`.
    pub gender_pie: ChartData,
    /// Of `gender_line`.
    pub gender_line: ChartData,
    /// Of `age_nationality_scatter`.
    pub scatter: ChartData,
}

/// A chart written to `<out>/<name>.png` and `.svg`, also live on `dashboard` (as chart
/// `name`) when there is one.
fn chart<V: Send + 'static>(
    out: &Path,
    name: &str,
    spec: ChartSpec,
    extract: Extract<V>,
    dashboard: Option<&Dashboard>,
) -> Result<Chart<V>> {
    let mut sink =
        ChartSink::new(out.join(name), spec, extract)?.with_min_interval(RENDER_INTERVAL);
    if let Some(dashboard) = dashboard {
        sink = sink.live(dashboard, name)?;
    }
    Ok(SharedSink::new(sink))
}

/// A gender count as the value of its category.
fn gender_points() -> Extract<u64> {
    Box::new(|gender: &String, participants: &u64, _| {
        vec![Point::category(
            0,
            gender.clone(),
            PARTICIPANTS,
            *participants as f64,
        )]
    })
}

/// An answer as a scatter point: its nationality's row (numbered as they first come) and age.
fn scatter_points() -> Extract<Answer> {
    let rows: Arc<Mutex<Vec<String>>> = Arc::default();
    Box::new(move |_, answer: &Answer, _| {
        let nationality = answer.nationality();
        let mut rows = rows.lock();
        let row = match rows.iter().position(|n| *n == nationality) {
            Some(at) => at + 1,
            None => {
                rows.push(nationality.clone());
                rows.len()
            }
        };
        let series = format!("{row:02} {nationality}");
        vec![Point::xy(0, series, row as f64, answer.age)]
    })
}

impl Charts {
    /// The four charts in `out`, live on `dashboard` when there is one.
    pub fn new(out: &Path, dashboard: Option<&Dashboard>) -> Result<Self> {
        let title = "Participants per gender";
        Ok(Self {
            gender_bar: chart(
                out,
                "gender_bar",
                ChartSpec::new(title, vec![Panel::bars("Gender", PARTICIPANTS)])
                    .with_size(800, 500),
                gender_points(),
                dashboard,
            )?,
            gender_pie: chart(
                out,
                "gender_pie",
                ChartSpec::new(title, vec![Panel::pie()]).with_size(600, 500),
                gender_points(),
                dashboard,
            )?,
            gender_line: chart(
                out,
                "gender_line",
                ChartSpec::new(title, vec![Panel::category_lines("Gender", PARTICIPANTS)])
                    .with_size(800, 500),
                gender_points(),
                dashboard,
            )?,
            scatter: chart(
                out,
                "age_nationality_scatter",
                ChartSpec::new(
                    "Age against nationality (a point per answer)",
                    vec![
                        Panel::scatter("Nationality (row NN in the legend)", "Age (years)")
                            .with_y_range(10.0, 100.0),
                    ],
                )
                .with_size(1000, 800),
                scatter_points(),
                dashboard,
            )?,
        })
    }

    /// The points each chart holds now.
    pub fn data(&self) -> ChartsData {
        ChartsData {
            gender_bar: self.gender_bar.with(|c| c.data().clone()),
            gender_pie: self.gender_pie.with(|c| c.data().clone()),
            gender_line: self.gender_line.with(|c| c.data().clone()),
            scatter: self.scatter.with(|c| c.data().clone()),
        }
    }
}

/// The chart files' base names.
pub const CHART_NAMES: [&str; 4] = [
    "gender_bar",
    "gender_pie",
    "gender_line",
    "age_nationality_scatter",
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::survey::SurveyRow;

    fn answer(nationality: &str, age: f64) -> Answer {
        let row = SurveyRow {
            timestamp: String::new(),
            participant_id: String::new(),
            gender: "Female".into(),
            nationality: nationality.into(),
            age: age.to_string(),
            food: String::new(),
            juice: String::new(),
            dessert: String::new(),
        };
        Answer { row, age }
    }

    #[test]
    fn nationalities_get_rows_in_first_seen_order_after_normalising_case() {
        let points = scatter_points();
        let got: Vec<Point> = ["Malaysian", "indian", "MALAYSIAN", "Indian", "India"]
            .iter()
            .enumerate()
            .flat_map(|(i, n)| points(&String::new(), &answer(n, 20.0 + i as f64), 0))
            .collect();
        let expected = [
            ("01 Malaysian", 1.0, 20.0),
            ("02 Indian", 2.0, 21.0),
            ("01 Malaysian", 1.0, 22.0),
            ("02 Indian", 2.0, 23.0),
            ("03 India", 3.0, 24.0),
        ];
        let expected: Vec<Point> = expected
            .iter()
            .map(|(s, x, y)| Point::xy(0, *s, *x, *y))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn gender_counts_replace_their_category() {
        let dir = std::env::temp_dir().join(format!("weir-food-charts-{}", std::process::id()));
        let charts = Charts::new(&dir, None).unwrap();
        charts.gender_bar.with(|c| {
            for (g, n) in [("Female", 1), ("Male", 1), ("Female", 2)] {
                c.add(&g.to_string(), &n, 0).unwrap();
            }
        });
        let data = charts.data();
        let values = data.gender_bar.category_values(0).unwrap();
        assert_eq!(values.categories(), ["Female", "Male"]);
        assert_eq!(values.value(0, PARTICIPANTS), Some(2.0));
        assert!(data
            .gender_pie
            .category_values(0)
            .unwrap()
            .categories()
            .is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
