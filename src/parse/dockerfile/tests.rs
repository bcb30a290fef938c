//! Unit tests of the Dockerfile front end.
