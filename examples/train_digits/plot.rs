//! The training curves as an SVG: loss per step on the left, train and test
//! accuracy per epoch on the right.
//!
//! SVG because plotters' SVG backend writes text as `<text>` elements and sizes
//! it with a built-in estimate, so no system fonts or C libraries are needed.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

/// What the training loop recorded.
pub struct History {
    /// Mean loss of each minibatch, in step order.
    pub step_loss: Vec<f32>,
    /// Accuracy on the whole training set after each epoch.
    pub train_acc: Vec<f32>,
    /// Accuracy on the test set after each epoch.
    pub test_acc: Vec<f32>,
}

const LOSS_RAW: RGBColor = RGBColor(150, 180, 220);
const LOSS_SMOOTH: RGBColor = RGBColor(20, 70, 160);
const TRAIN: RGBColor = RGBColor(20, 70, 160);
const TEST: RGBColor = RGBColor(210, 80, 20);

/// Centred moving average over `2 * half + 1` steps (fewer at the ends), so
/// the loss trend is visible through the minibatch noise without the lag a
/// trailing average would add.
fn smooth(values: &[f32], half: usize) -> Vec<f32> {
    (0..values.len())
        .map(|i| {
            let window = &values[i.saturating_sub(half)..(i + half + 1).min(values.len())];
            window.iter().sum::<f32>() / window.len() as f32
        })
        .collect()
}

/// A legend entry: a short line in the series colour.
fn legend(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

/// Writes the two panels to `path` (an `.svg` file), creating its directory.
pub fn write_svg(path: &Path, h: &History) -> Result<(), Box<dyn Error>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);

    let steps = h.step_loss.len().max(1);
    // Log scale: the loss falls by two orders of magnitude, and on a linear
    // axis everything after the first epoch is a flat line at the bottom.
    let loss_max = h.step_loss.iter().copied().fold(1e-3f32, f32::max);
    let loss_min = h
        .step_loss
        .iter()
        .copied()
        .fold(loss_max, f32::min)
        .max(1e-4);
    let mut chart = ChartBuilder::on(&left)
        .caption("training loss", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(
            0f32..steps as f32,
            (loss_min * 0.8..loss_max * 1.25).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("cross-entropy (log scale)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    let points = |v: Vec<f32>| v.into_iter().enumerate().map(|(i, l)| (i as f32, l));
    chart
        .draw_series(LineSeries::new(points(h.step_loss.clone()), LOSS_RAW))?
        .label("minibatch")
        .legend(legend(LOSS_RAW));
    chart
        .draw_series(LineSeries::new(
            points(smooth(&h.step_loss, 12)),
            LOSS_SMOOTH.stroke_width(2),
        ))?
        .label("moving average")
        .legend(legend(LOSS_SMOOTH));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let epochs = h.test_acc.len().max(1);
    let lowest = h
        .train_acc
        .iter()
        .chain(&h.test_acc)
        .copied()
        .fold(1.0f32, f32::min);
    // Round the bottom down to a tenth so the interesting top stays readable.
    let bottom = ((lowest * 10.0).floor() / 10.0).min(0.9);
    let mut chart = ChartBuilder::on(&right)
        .caption("accuracy", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(1f32..epochs as f32, bottom..1.0f32)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    let per_epoch = |v: &[f32]| {
        v.iter()
            .enumerate()
            .map(|(i, &a)| (i as f32 + 1.0, a))
            .collect::<Vec<_>>()
    };
    for (values, color, name) in [(&h.train_acc, TRAIN, "train"), (&h.test_acc, TEST, "test")] {
        let pts = per_epoch(values);
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?
            .label(name)
            .legend(legend(color));
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    root.present()?;
    Ok(())
}
