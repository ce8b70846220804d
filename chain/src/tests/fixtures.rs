//! Signed Ethereum transactions for the tests.

use alloy_primitives::{TxKind, U256};
use ordo_types::{Address, Bytes, EthereumTx, SecretKey};

/// A signed EIP-1559 transfer of 1 wei on `chain_id`.
pub(crate) fn eip1559(key: &SecretKey, nonce: u64, chain_id: u64) -> Bytes {
    let tx = alloy_consensus::TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x22)),
        value: U256::from(1),
        ..Default::default()
    };
    EthereumTx::sign(tx.into(), key)
}
