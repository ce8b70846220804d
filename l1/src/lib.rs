//! ordo-l1
