//! A self-contained SVG of a load run, one point per second: offered and finalized throughput,
//! inclusion latency (p50, p99), and the nodes' memory and CPU.

use std::fmt::Write as _;

use crate::load::Second;

const W: f64 = 900.0;
const PANEL_H: f64 = 220.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const GAP: f64 = 60.0;

/// A round axis maximum at or above `x`.
fn nice_max(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(x.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= x {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

struct Panel<'a> {
    top: f64,
    title: &'a str,
    unit: &'a str,
    series: Vec<(&'a str, &'a str, Vec<f64>)>,
}

fn draw_panel(out: &mut String, panel: &Panel<'_>, seconds: usize) {
    let plot_w = W - LEFT - RIGHT;
    let max = nice_max(
        panel
            .series
            .iter()
            .flat_map(|(_, _, v)| v.iter().copied())
            .fold(0.0, f64::max),
    );
    let x = |t: usize| LEFT + plot_w * t as f64 / (seconds.max(2) - 1) as f64;
    let y = |v: f64| panel.top + PANEL_H - PANEL_H * (v / max).clamp(0.0, 1.0);
    let _ = writeln!(
        out,
        r#"<text x="{LEFT}" y="{}" font-size="14" font-weight="bold">{}</text>"#,
        panel.top - 8.0,
        escape(panel.title)
    );
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let yy = y(v);
        let _ = writeln!(
            out,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            format_value(v)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="14" y="{:.1}" font-size="11" transform="rotate(-90 14 {:.1})" text-anchor="middle">{}</text>"#,
        panel.top + PANEL_H / 2.0,
        panel.top + PANEL_H / 2.0,
        escape(panel.unit)
    );
    let step = (seconds / 10).max(1);
    for t in (0..seconds).step_by(step) {
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle">{t}s</text>"#,
            x(t),
            panel.top + PANEL_H + 16.0
        );
    }
    for (k, (name, color, values)) in panel.series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| format!("{:.1},{:.1}", x(t), y(*v)))
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let lx = LEFT + 10.0 + 170.0 * k as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{lx:.1}" y="{:.1}" width="14" height="3" fill="{color}"/><text x="{:.1}" y="{:.1}" font-size="12">{}</text>"#,
            panel.top + 8.0,
            lx + 18.0,
            panel.top + 12.0,
            escape(name)
        );
    }
}

fn format_value(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A latency series; seconds without inclusions have no point (not a zero).
fn latency(timeline: &[Second], pick: impl Fn(&Second) -> f64) -> Vec<f64> {
    timeline
        .iter()
        .map(|s| if s.included == 0 { f64::NAN } else { pick(s) })
        .collect()
}

/// The SVG document for `timeline`, titled `title`.
pub(crate) fn svg(title: &str, timeline: &[Second]) -> String {
    let seconds = timeline.len();
    let height = TOP + 3.0 * PANEL_H + 2.0 * GAP + 40.0;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" font-family="sans-serif">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="20" font-size="15" text-anchor="middle">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    draw_panel(
        &mut out,
        &Panel {
            top: TOP + 10.0,
            title: "Throughput",
            unit: "transactions / s",
            series: vec![
                (
                    "offered",
                    "#999999",
                    timeline.iter().map(|s| s.submitted as f64).collect(),
                ),
                (
                    "finalized",
                    "#1f77b4",
                    timeline.iter().map(|s| s.included as f64).collect(),
                ),
            ],
        },
        seconds,
    );
    draw_panel(
        &mut out,
        &Panel {
            top: TOP + 10.0 + PANEL_H + GAP,
            title: "Submission to inclusion latency",
            unit: "ms",
            series: vec![
                ("p50", "#2ca02c", latency(timeline, |s| s.latency_p50_ms)),
                ("p99", "#d62728", latency(timeline, |s| s.latency_p99_ms)),
            ],
        },
        seconds,
    );
    draw_panel(
        &mut out,
        &Panel {
            top: TOP + 10.0 + 2.0 * (PANEL_H + GAP),
            title: "Nodes' resident memory (sum) and CPU (sum, % of one core)",
            unit: "MiB / %",
            series: vec![
                (
                    "RSS MiB",
                    "#9467bd",
                    timeline.iter().map(|s| s.nodes_rss_mib).collect(),
                ),
                (
                    "CPU %",
                    "#ff7f0e",
                    timeline.iter().map(|s| s.nodes_cpu_percent).collect(),
                ),
            ],
        },
        seconds,
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(3.2), 5.0);
        assert_eq!(nice_max(2999.0), 5000.0);
        assert_eq!(nice_max(1000.0), 1000.0);
    }

    #[test]
    fn svg_has_both_panels_and_one_point_per_second() {
        let timeline: Vec<Second> = (0..5)
            .map(|t| Second {
                t,
                submitted: 100,
                included: 90 + t,
                latency_p50_ms: 200.0,
                latency_p99_ms: 400.0,
                nodes_cpu_percent: 0.0,
                nodes_rss_mib: 0.0,
            })
            .collect();
        let svg = svg("run <1>", &timeline);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("run &lt;1&gt;"));
        assert_eq!(svg.matches("<polyline").count(), 6);
        let points = |n: usize| {
            let series = svg.split("points=\"").nth(n).unwrap_or_default();
            series
                .split('"')
                .next()
                .unwrap_or_default()
                .split(' ')
                .count()
        };
        assert_eq!(points(1), 5);
        // A second without inclusions has no latency point.
        let mut quiet = timeline.clone();
        quiet[2].included = 0;
        let svg = super::svg("quiet", &quiet);
        let series = svg.split("points=\"").nth(3).unwrap_or_default();
        assert_eq!(
            series
                .split('"')
                .next()
                .unwrap_or_default()
                .split(' ')
                .count(),
            4
        );
    }
}
