//! ordo-builder
