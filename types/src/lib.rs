//! ordo-types
