//! Image sizes: the bundled size tables, the static estimate of an image built from a
//! Dockerfile (base image + OS packages + Python packages + copied files, each part traced to
//! a table row and to the text that brought it in), and measured sizes read from `docker`
//! output. Sits between the model (which it reads) and the evaluator (which exposes it to
//! rules).

pub mod detail;
pub mod estimate;
pub mod measured;
pub mod tables;
/// Reads the tables at build time (`build.rs`); the tests read them again to check the
/// generated statics.
#[cfg(test)]
pub(crate) mod tsv;

pub use detail::{Detail, RowKey};
pub use estimate::{estimate, Contributor, ContributorKind, Estimate, RowRef};
pub use measured::{parse_measured_sizes, MeasuredSize};
