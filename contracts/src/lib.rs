//! ordo-contracts
