//! The checks of a finished demo run's outputs against [`Expected`](super::Expected).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use super::{Expected, HEADER};
use serde_json::Value;
use std::path::Path;
use weir_food::summary::DemoSummary;

fn read_jsonl(path: &Path) -> Vec<(String, Value)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| (l.to_string(), serde_json::from_str(l).unwrap()))
        .collect()
}

/// The `(x, y, width, height)` of the `<rect>`s of `svg` filled with `fill`, wider than 20 px
/// (the legend's swatches are narrower).
fn bars(svg: &str, fill: &str) -> Vec<(f64, f64, f64, f64)> {
    let attr = |tag: &str, name: &str| -> f64 {
        let start = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let end = start + tag[start..].find('"').unwrap();
        tag[start..end].parse().unwrap()
    };
    svg.split("<rect")
        .skip(1)
        .map(|t| &t[..t.find("/>").unwrap()])
        .filter(|t| t.contains(&format!("fill=\"{fill}\"")))
        .map(|t| {
            (
                attr(t, "x"),
                attr(t, "y"),
                attr(t, "width"),
                attr(t, "height"),
            )
        })
        .filter(|r| r.2 > 20.0)
        .collect()
}

/// Checks every output of a finished demo run against the recomputation.
pub fn check_outputs(data: &Path, start_ms: i64, summary: &DemoSummary) {
    let expected = Expected::of(data, start_ms);
    let out = &summary.out;

    // The producer sent every row that fits the header, keyed by its number, and kept a copy.
    assert_eq!(summary.produce.sent, expected.food.len() as u64);
    assert_eq!(
        summary.produce.dead_lettered,
        expected.bad_rows.len() as u64
    );
    let food = read_jsonl(&out.join("Food.jsonl"));
    let got: Vec<&Value> = food.iter().map(|(_, v)| v).collect();
    assert_eq!(got, expected.food.iter().collect::<Vec<_>>());
    for (line, _) in &food {
        // Each value object lists the columns in the file's order.
        let at: Vec<usize> = HEADER
            .iter()
            .map(|c| line.find(&format!("\"{c}\":")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
    }

    // The consumer counted the answers with a usable age and set the others aside.
    let c = &summary.consume;
    assert_eq!(c.answers, expected.answers.len() as u64);
    assert_eq!(c.dead_lettered, expected.bad_answers.len() as u64);
    let genders = expected.gender_counts();
    assert_eq!(c.gender, genders);
    assert_eq!(c.nationality, expected.nationality_counts());
    let sums = expected.age_sums();
    assert_eq!(c.age_by_gender.len(), sums.len());
    for ((g, stats), (eg, (n, total))) in c.age_by_gender.iter().zip(&sums) {
        assert_eq!(g, eg);
        assert_eq!(stats.participants, *n);
        assert!((stats.total_age - total).abs() < 1e-9);
        assert!((stats.mean_age - total / *n as f64).abs() < 1e-9, "{g}");
    }

    // summary.csv: Gender,count, most participants first, ties by name.
    let mut rows = genders.clone();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut csv_text = String::from("Gender,count\n");
    for (g, n) in &rows {
        csv_text.push_str(&format!("{g},{n}\n"));
    }
    assert_eq!(
        std::fs::read_to_string(out.join("summary.csv")).unwrap(),
        csv_text
    );

    // The dead letters: the producer's rows first (it ran first), then the consumer's.
    let letters = read_jsonl(&out.join("Food-dead-letters.jsonl"));
    assert_eq!(letters.len(), expected.set_aside());
    assert_eq!(c.dead_letters.len(), expected.set_aside());
    for ((_, got), (line, raw)) in letters.iter().zip(&expected.bad_rows) {
        assert_eq!(got["key"], "");
        assert_eq!(got["value"]["value"].as_str().unwrap().trim_end(), raw);
        let source = got["value"]["source"].as_str().unwrap();
        assert!(source.ends_with(&format!("/0/{line}")), "{source}");
        assert!(got["value"]["error"].as_str().unwrap().contains("fields"));
    }
    let consumer_letters = &letters[expected.bad_rows.len()..];
    for ((_, got), (number, why)) in consumer_letters.iter().zip(&expected.bad_answers) {
        let key = number.to_string();
        assert_eq!(got["key"], key.as_str());
        let sent = expected
            .food
            .iter()
            .find(|f| f["key"] == key.as_str())
            .unwrap();
        let value: Value = serde_json::from_str(got["value"]["value"].as_str().unwrap()).unwrap();
        assert_eq!(value, sent["value"]);
        let error = got["value"]["error"].as_str().unwrap();
        assert!(error.contains(why), "{error} should say {why}");
    }
    for ((key, letter), (_, line)) in c.dead_letters.iter().zip(&letters) {
        assert_eq!(line["key"], key.as_str());
        assert_eq!(line["value"]["error"], letter.error.as_str());
    }

    // The gender charts were given the final count of each gender, in first-seen order.
    for data in [
        &c.charts.gender_bar,
        &c.charts.gender_pie,
        &c.charts.gender_line,
    ] {
        let values = data.category_values(0).unwrap();
        let names: Vec<&str> = genders.iter().map(|(g, _)| g.as_str()).collect();
        assert_eq!(values.categories(), names.as_slice());
        assert_eq!(values.series(), ["participants"]);
        for (i, (_, n)) in genders.iter().enumerate() {
            assert_eq!(values.value(i, "participants"), Some(*n as f64));
        }
    }
    // The scatter plot was given a point per counted answer: (nationality row, age).
    let scatter: Vec<(String, Vec<(f64, f64)>)> = c
        .charts
        .scatter
        .scatter_series(0)
        .map(|(name, points)| (name.to_string(), points.iter().copied().collect()))
        .collect();
    assert_eq!(scatter, expected.scatter());

    // And the files draw them.
    let svg = |name: &str| std::fs::read_to_string(out.join(format!("{name}.svg"))).unwrap();
    for name in [
        "gender_bar",
        "gender_pie",
        "gender_line",
        "age_nationality_scatter",
    ] {
        let png = std::fs::read(out.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png");
    }
    let bar = svg("gender_bar");
    let drawn = bars(&bar, "#1F77B4");
    assert_eq!(drawn.len(), genders.len(), "a bar per gender");
    let total: u64 = genders.iter().map(|(_, n)| n).sum();
    for (rect, (g, n)) in drawn.iter().zip(&genders) {
        assert!(bar.contains(g.as_str()));
        // Heights in proportion to the counts (first bar as the unit).
        let ratio = rect.3 / drawn[0].3;
        let want = *n as f64 / genders[0].1 as f64;
        assert!((ratio - want).abs() < 0.03, "{g}: {ratio} vs {want}");
    }
    let pie = svg("gender_pie");
    assert_eq!(pie.matches("<polygon").count(), genders.len());
    for (g, n) in &genders {
        let share = format!("{g} {:.0}%", *n as f64 / total as f64 * 100.0);
        assert!(pie.contains(&share), "the pie lacks {share}");
    }
    let line = svg("gender_line");
    assert!(line.contains("<polyline"), "a line over the categories");
    for (g, _) in &genders {
        assert!(line.contains(g.as_str()));
    }
    let plot = svg("age_nationality_scatter");
    let series = expected.scatter();
    // A circle per answer, and one per legend entry.
    assert_eq!(
        plot.matches("<circle").count(),
        expected.answers.len() + series.len()
    );
    for (name, _) in &series {
        assert!(plot.contains(name.as_str()), "the legend lacks {name}");
    }
}
