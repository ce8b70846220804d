//! ordo-consensus
