//! `dockpolicy size`: each service with its size (measured, estimated, or a lower bound), its
//! budget and its largest parts, then each estimate broken down into its parts, every figure
//! with the table row it comes from and the line that brought it in. As text for people and
//! as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::eval::value::human_size;
use crate::eval::world::{SizeKind, World};
use crate::size::Contributor;
use crate::source::{Sources, Span};

/// One service of the report.
#[derive(Debug, Serialize)]
pub struct ServiceSize {
    pub service: String,
    /// The Dockerfile its image is built from, if it builds one.
    pub dockerfile: Option<String>,
    /// Measured, else estimated; `None` for a service that builds nothing and was not measured.
    pub size: Option<u64>,
    /// `measured`, `estimated` or `lower bound`.
    pub size_kind: Option<&'static str>,
    /// The static estimate, when the service builds an image.
    pub estimated_size: Option<u64>,
    /// Whether the estimate has an unknown part (or one known only from below).
    pub estimate_is_lower_bound: bool,
    pub budget: Option<u64>,
    pub over_budget: bool,
    /// The parts of the estimate, in image order.
    pub contributors: Vec<ContributorRow>,
    /// Indices into `contributors` of the parts of known size, largest first.
    #[serde(skip)]
    pub largest: Vec<usize>,
}

/// One part of an estimate.
#[derive(Debug, Serialize)]
pub struct ContributorRow {
    pub kind: &'static str,
    pub name: String,
    /// `None` when unknown.
    pub size: Option<u64>,
    /// The figure is a lower bound of the part's size.
    pub at_least: bool,
    pub detail: String,
    /// `file:line` of what brought it in.
    pub location: Option<String>,
    pub table: Option<&'static str>,
    pub row: Option<String>,
    pub source: Option<String>,
}

/// The report's rows: every service of `world`, with the budget `budget_of` gives its name.
pub fn service_sizes(
    world: &World<'_>,
    budget_of: &dyn Fn(&str) -> Option<u64>,
) -> Vec<ServiceSize> {
    (0..world.service_count())
        .filter_map(|service| {
            let name = world.service_name(service)?.to_string();
            let image = world.service_image(service);
            let estimate = image.and_then(|i| world.estimate(i));
            let size = world.service_size(service);
            let budget = budget_of(&name);
            Some(ServiceSize {
                dockerfile: image
                    .and_then(|i| world.images.get(i))
                    .and_then(|i| world.repository.dockerfiles.get(i.dockerfile))
                    .map(|d| d.path.clone()),
                size: size.map(|(bytes, _)| bytes),
                size_kind: size.map(|(_, kind)| kind.as_str()),
                estimated_size: estimate.map(|e| e.total()),
                estimate_is_lower_bound: estimate.is_some_and(|e| e.is_lower_bound()),
                largest: estimate.map(|e| e.largest()).unwrap_or_default(),
                over_budget: matches!((size, budget), (Some((bytes, _)), Some(budget)) if bytes > budget),
                budget,
                contributors: estimate
                    .map(|e| {
                        e.contributors
                            .iter()
                            .map(|c| contributor_row(c, world.sources))
                            .collect()
                    })
                    .unwrap_or_default(),
                service: name,
            })
        })
        .collect()
}

fn contributor_row(contributor: &Contributor, sources: &Sources) -> ContributorRow {
    ContributorRow {
        kind: contributor.kind.as_str(),
        name: contributor.name.clone(),
        size: contributor.bytes,
        at_least: contributor.at_least,
        detail: contributor.detail.to_string(),
        location: contributor.span.and_then(|span| location(span, sources)),
        table: contributor.row.as_ref().map(|r| r.table),
        row: contributor.row.as_ref().map(|r| r.key.to_string()),
        source: contributor.row.as_ref().map(|r| r.source.to_string()),
    }
}

fn location(span: Span, sources: &Sources) -> Option<String> {
    let file = sources.get(span.file)?;
    let (line, _) = file.line_column(span.range().start);
    Some(format!("{}:{line}", file.rel_path))
}

/// A size as people read it: `≥ 1.2 GB` for a lower bound, `unknown` for none.
fn size_text(size: Option<u64>, lower_bound: bool) -> String {
    match size {
        Some(bytes) if lower_bound => format!("≥ {}", human_size(bytes)),
        Some(bytes) => human_size(bytes),
        None => "unknown".into(),
    }
}

/// How many parts the summary table lists per service.
const TOP: usize = 3;

/// The text report: a summary table, then the breakdown of each estimate.
pub fn render_sizes(rows: &[ServiceSize]) -> String {
    let mut out = String::new();
    let summary: Vec<[String; 5]> = rows
        .iter()
        .map(|row| {
            let lower = row.size_kind == Some(SizeKind::LowerBound.as_str());
            let top: Vec<String> = row
                .largest
                .iter()
                .take(TOP)
                .filter_map(|&i| row.contributors.get(i))
                .map(|c| format!("{} {}", c.name, size_text(c.size, c.at_least)))
                .collect();
            [
                row.service.clone(),
                size_text(row.size, lower),
                row.size_kind.unwrap_or("-").to_string(),
                match (row.budget, row.over_budget) {
                    (Some(budget), true) => format!("{} (over)", human_size(budget)),
                    (Some(budget), false) => human_size(budget),
                    (None, _) => "-".into(),
                },
                top.join(", "),
            ]
        })
        .collect();
    let header = ["SERVICE", "SIZE", "KIND", "BUDGET", "LARGEST PARTS"];
    let mut widths = header.map(|h| h.chars().count());
    for line in &summary {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut table_line = |cells: &[String]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    table_line(&header.map(String::from));
    for line in &summary {
        table_line(line);
    }
    for row in rows.iter().filter(|r| !r.contributors.is_empty()) {
        let _ = writeln!(
            out,
            "\n{} ({}): estimated {}",
            row.service,
            row.dockerfile.as_deref().unwrap_or("-"),
            size_text(row.estimated_size, row.estimate_is_lower_bound)
        );
        for part in &row.contributors {
            let _ = writeln!(
                out,
                "  {:>10}  {}  [{}] {}",
                size_text(part.size, part.at_least),
                part.name,
                part.location.as_deref().unwrap_or("-"),
                part.detail
            );
            if let (Some(table), Some(key), Some(source)) = (part.table, &part.row, &part.source) {
                let _ = writeln!(out, "              from {table} row `{key}`: {source}");
            }
        }
    }
    out
}
