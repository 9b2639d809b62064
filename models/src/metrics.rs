//! Classification metrics: ROC AUC (rank based, ties averaged), confusion matrix, threshold search.

use serde::{Deserialize, Serialize};

/// Held-out quality of a classifier at a given decision threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Number of labelled examples evaluated.
    pub count: usize,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Area under the ROC curve.
    pub auc: f64,
    /// TP / (TP + FP) (0 when nothing is predicted positive).
    pub precision: f64,
    /// TP / (TP + FN) (0 when there are no positives).
    pub recall: f64,
    /// Mean binary cross-entropy of the probabilities.
    pub log_loss: f64,
    /// True positives.
    pub tp: usize,
    /// False positives.
    pub fp: usize,
    /// True negatives.
    pub tn: usize,
    /// False negatives.
    pub r#fn: usize,
}

impl Metrics {
    /// Computes all metrics of `probs` against `labels` (0/1) at `threshold` (`p >= t` is 1).
    pub fn compute(probs: &[f32], labels: &[u8], threshold: f32) -> Metrics {
        let (mut tp, mut fp, mut tn, mut r#fn) = (0, 0, 0, 0);
        let mut ll = 0.0f64;
        for (&p, &y) in probs.iter().zip(labels) {
            let pred = p >= threshold;
            match (pred, y == 1) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, false) => tn += 1,
                (false, true) => r#fn += 1,
            }
            let pc = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
            ll -= if y == 1 { pc.ln() } else { (1.0 - pc).ln() };
        }
        let count = tp + fp + tn + r#fn;
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Metrics {
            count,
            accuracy: ratio(tp + tn, count),
            auc: roc_auc(probs, labels),
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + r#fn),
            log_loss: if count == 0 { 0.0 } else { ll / count as f64 },
            tp,
            fp,
            tn,
            r#fn,
        }
    }

    /// A multi-line human-readable report.
    pub fn report(&self) -> String {
        format!(
            "  examples  {}\n  accuracy  {:.4}\n  ROC AUC   {:.4}\n  precision {:.4}\n  recall    {:.4}\n  log loss  {:.4}\n  confusion matrix (rows = actual, cols = predicted)\n               on-time  delayed\n    on-time   {:>8} {:>8}\n    delayed   {:>8} {:>8}",
            self.count, self.accuracy, self.auc, self.precision, self.recall, self.log_loss,
            self.tn, self.fp, self.r#fn, self.tp
        )
    }
}

/// ROC AUC by the rank-sum (Mann-Whitney U) formula; tied scores get their average rank.
///
/// Returns 0.5 when there are no positives or no negatives.
pub fn roc_auc(scores: &[f32], labels: &[u8]) -> f64 {
    let n = scores.len().min(labels.len());
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels[..n].iter().filter(|&&y| y == 1).count();
    let negatives = n - positives;
    if positives == 0 || negatives == 0 {
        return 0.5;
    }
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        let pos_in_group = idx[i..=j].iter().filter(|&&k| labels[k] == 1).count();
        rank_sum += mean_rank * pos_in_group as f64;
        i = j + 1;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// The threshold in `[0.05, 0.95]` (step 0.005) with the best accuracy on `(probs, labels)`.
pub fn best_threshold(probs: &[f32], labels: &[u8]) -> f32 {
    let mut best = (0.5f32, -1.0f64);
    for step in 0..=180 {
        let t = 0.05 + step as f32 * 0.005;
        let correct = probs
            .iter()
            .zip(labels)
            .filter(|(&p, &y)| (p >= t) == (y == 1))
            .count();
        let acc = correct as f64 / probs.len().max(1) as f64;
        // Prefer the threshold closest to 0.5 among equals.
        if acc > best.1 + 1e-12
            || ((acc - best.1).abs() <= 1e-12 && (t - 0.5).abs() < (best.0 - 0.5).abs())
        {
            best = (t, acc);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_perfect_inverse_and_random() {
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &[0, 0, 1, 1]), 1.0);
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &[0, 0, 1, 1]), 0.0);
        assert_eq!(roc_auc(&[0.5, 0.5, 0.5, 0.5], &[0, 1, 0, 1]), 0.5);
        assert_eq!(roc_auc(&[0.3, 0.4], &[1, 1]), 0.5);
    }

    #[test]
    fn auc_handles_ties_like_pairwise_counting() {
        let s = [0.1, 0.4, 0.4, 0.4, 0.7, 0.2, 0.7, 0.9];
        let y = [0, 1, 0, 1, 0, 0, 1, 1];
        // Brute force: P(score_pos > score_neg) + 0.5 P(equal).
        let mut num = 0.0;
        let mut den = 0.0;
        for i in 0..s.len() {
            for j in 0..s.len() {
                if y[i] == 1 && y[j] == 0 {
                    den += 1.0;
                    if s[i] > s[j] {
                        num += 1.0;
                    } else if s[i] == s[j] {
                        num += 0.5;
                    }
                }
            }
        }
        assert!((roc_auc(&s, &y) - num / den).abs() < 1e-12);
    }

    #[test]
    fn confusion_matrix_and_rates() {
        let m = Metrics::compute(&[0.9, 0.8, 0.3, 0.1, 0.6], &[1, 0, 1, 0, 1], 0.5);
        assert_eq!((m.tp, m.fp, m.tn, m.r#fn), (2, 1, 1, 1));
        assert_eq!(m.count, 5);
        assert!((m.accuracy - 0.6).abs() < 1e-12);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!(m.report().contains("accuracy"));
    }

    #[test]
    fn threshold_search_finds_separating_value() {
        let t = best_threshold(&[0.1, 0.2, 0.3, 0.7, 0.8], &[0, 0, 0, 1, 1]);
        assert!(t > 0.3 && t <= 0.7, "{t}");
    }
}
