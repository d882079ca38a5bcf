//! Charts drawn on the server as SVG (through the auto-escaping templates):
//! no script, and the page prints and works offline. A chart is data the
//! `chart.html` macro lays out; labels stay strings and are escaped there.

use serde::Serialize;

/// Plot area, in SVG user units.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 36.0;

/// A bar chart.
#[derive(Debug, Clone, Serialize)]
pub struct BarChart {
    /// What it shows (the SVG's accessible name).
    pub caption: String,
    /// Whole width and height.
    pub width: f64,
    /// Whole height.
    pub height: f64,
    /// Bars, left to right.
    pub bars: Vec<Bar>,
    /// Value axis ticks.
    pub ticks: Vec<Tick>,
    /// X labels shown (at most ~12, evenly spaced).
    pub labels: Vec<Tick>,
    /// Axis origin in user units.
    pub left: f64,
    /// Baseline y.
    pub base: f64,
}

/// One bar.
#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// Hover text: `label: value`.
    pub title: String,
}

/// An axis tick or label.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    /// Position along its axis.
    pub at: f64,
    /// Text.
    pub text: String,
}

/// A bar per `(label, value)`; `None` when there is nothing to draw.
pub fn bars(caption: &str, points: &[(String, f64)]) -> Option<BarChart> {
    if points.is_empty() {
        return None;
    }
    let max = points.iter().map(|p| p.1).fold(0.0_f64, f64::max);
    let top = nice_ceiling(max);
    let plot_w = WIDTH - LEFT - 8.0;
    let plot_h = HEIGHT - BOTTOM - 8.0;
    let base = 8.0 + plot_h;
    let step = plot_w / points.len() as f64;
    let gap = if step > 4.0 { step * 0.15 } else { 0.0 };
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, (label, v))| {
            let h = if top > 0.0 { v.max(0.0) / top * plot_h } else { 0.0 };
            // A few points make wide slots: bars stay at most 40 wide, centred.
            let w = (step - gap).clamp(0.5, 40.0);
            Bar { x: round(LEFT + i as f64 * step + (step - w) / 2.0), y: round(base - h), w: round(w), h: round(h), title: format!("{label}: {}", number(*v)) }
        })
        .collect();
    let ticks = (0..=4).map(|k| {
        let v = top * k as f64 / 4.0;
        Tick { at: round(base - v / top.max(f64::MIN_POSITIVE) * plot_h), text: number(v) }
    });
    let every = points.len().div_ceil(12).max(1);
    let labels = points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, (label, _))| Tick { at: round(LEFT + (i as f64 + 0.5) * step), text: label.clone() })
        .collect();
    Some(BarChart { caption: caption.to_owned(), width: WIDTH, height: HEIGHT, bars, ticks: ticks.collect(), labels, left: LEFT, base })
}

/// The smallest 1, 2 or 5 × 10^k at or above `v` (axis top).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|c| *c >= v).unwrap_or(10.0 * mag)
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Integers without decimals, others with two.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_a_round_top_and_keep_order() {
        let c = bars("x", &[("a".into(), 3.0), ("b".into(), 7.0), ("c".into(), 0.0)]).unwrap();
        assert_eq!(c.ticks.last().unwrap().text, "10");
        let heights: Vec<f64> = c.bars.iter().map(|b| b.h).collect();
        assert!(heights[1] > heights[0] && heights[0] > heights[2] && heights[2] == 0.0, "{heights:?}");
        // 7 of 10 of the plot height.
        assert!((heights[1] / (c.base - 8.0) - 0.7).abs() < 0.01, "{heights:?}");
        assert_eq!(c.bars[1].title, "b: 7");
        assert!(bars("x", &[]).is_none());
    }

    #[test]
    fn nice_ceiling_is_one_two_or_five() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(1.0), 1.0);
        assert_eq!(nice_ceiling(1.2), 2.0);
        assert_eq!(nice_ceiling(4.5), 5.0);
        assert_eq!(nice_ceiling(51.0), 100.0);
        assert_eq!(nice_ceiling(18_000.0), 20_000.0);
    }

    #[test]
    fn many_points_get_at_most_twelve_labels() {
        let pts: Vec<(String, f64)> = (0..100).map(|i| (format!("d{i}"), i as f64)).collect();
        let c = bars("x", &pts).unwrap();
        assert!(c.labels.len() <= 12 && c.labels.len() >= 9, "{}", c.labels.len());
        assert_eq!(c.bars.len(), 100);
    }
}
