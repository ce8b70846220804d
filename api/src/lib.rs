//! ordo-api
