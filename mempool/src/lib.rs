//! ordo-mempool
