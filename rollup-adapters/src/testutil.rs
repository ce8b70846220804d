//! Fixtures for the unit tests.
#![allow(clippy::unwrap_used)]

use ordo_types::{Address, Bytes, EthereumTx, SecretKey};

/// A signed EIP-1559 transfer of 1 wei.
pub(crate) fn eip1559(key: &SecretKey, nonce: u64, chain_id: u64) -> Bytes {
    let tx = alloy_consensus::TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: alloy_primitives::TxKind::Call(Address::repeat_byte(0x22)),
        value: alloy_primitives::U256::from(1),
        ..Default::default()
    };
    EthereumTx::sign(tx.into(), key)
}
