// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title OrdoSig
/// @notice Digests and signature checks shared by the Ordo contracts. Every byte layout here is
///         the one pinned in docs/FORMATS.md, so a contract checks exactly what consensus signs.
library OrdoSig {
    /// @notice Half the secp256k1 group order: signatures with a larger `s` are rejected (low-s).
    uint256 internal constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    /// @notice `vote_type` of a prevote.
    uint8 internal constant PREVOTE = 1;
    /// @notice `vote_type` of a precommit.
    uint8 internal constant PRECOMMIT = 2;

    /// @notice Committee size limit, keeping every loop over a committee bounded.
    uint256 internal constant MAX_COMMITTEE_SIZE = 1024;

    /// @notice Thrown when committee member and power arrays differ in length.
    error LengthMismatch(uint256 members, uint256 powers);
    /// @notice Thrown for a committee without members.
    error EmptyCommittee();
    /// @notice Thrown for a committee larger than `MAX_COMMITTEE_SIZE`.
    error CommitteeTooLarge(uint256 size);
    /// @notice Thrown when members are not in strictly ascending address order, repeat, or a
    ///         member is the zero address.
    error CommitteeNotSorted(uint256 position);
    /// @notice Thrown for a member with zero voting power.
    error ZeroVotingPower(uint256 position);
    /// @notice Thrown when a committee word has bits set above its ABI type.
    error NonCanonicalEncoding();
    /// @notice Thrown when the total voting power does not fit in a `uint64`.
    error TotalPowerOverflow();

    /// @notice Recovers the signer of `digest`, or returns `address(0)` when the signature is not
    ///         in the canonical form of FORMATS.md (`v` in {27, 28}, `s <= n/2`) or does not recover.
    function tryRecover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address) {
        if (v != 27 && v != 28) return address(0);
        if (uint256(s) > HALF_ORDER) return address(0);
        return ecrecover(digest, v, r, s);
    }

    /// @notice The consensus vote signing digest:
    ///         `keccak256("ordo/vote/v1" || chain_id u64 || height u64 || round u32 || vote_type u8 || block_hash)`.
    function voteDigest(uint64 chainId, uint64 height, uint32 round, uint8 voteType, bytes32 blockHash)
        internal
        pure
        returns (bytes32)
    {
        // The tag is exactly 12 ASCII bytes, so the bytes12 conversion keeps all of it.
        // forge-lint: disable-next-line(unsafe-typecast)
        return keccak256(abi.encodePacked(bytes12("ordo/vote/v1"), chainId, height, round, voteType, blockHash));
    }

    /// @notice `validators_hash` of FORMATS.md: `keccak256(concat(address || uint64 power))` in the
    ///         given order. No ordering or power checks: use it only to compare with a commitment
    ///         that was checked when it was stored.
    function committeeHash(address[] calldata members, uint64[] calldata powers) internal pure returns (bytes32 h) {
        uint256 n = members.length;
        if (n != powers.length) revert LengthMismatch(n, powers.length);
        bool dirty;
        assembly ("memory-safe") {
            // Packs 20 address bytes then 8 power bytes per member into scratch memory past the
            // free memory pointer (each member's tail is overwritten by the next one) and hashes
            // it. Words with bits above their ABI type (160 / 64 bits) are refused, as the ABI
            // decoder would, so callers may read members and powers as raw calldata words.
            let start := mload(0x40)
            let p := start
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let member := calldataload(add(members.offset, shl(5, i)))
                let power := calldataload(add(powers.offset, shl(5, i)))
                dirty := or(dirty, or(shr(160, member), shr(64, power)))
                mstore(p, shl(96, member))
                mstore(add(p, 20), shl(192, power))
                p := add(p, 28)
            }
            h := keccak256(start, sub(p, start))
        }
        if (dirty) revert NonCanonicalEncoding();
    }

    /// @notice Checks that a committee is well formed (non-empty, at most `MAX_COMMITTEE_SIZE`
    ///         members in strictly ascending address order, every power > 0, total fits in u64)
    ///         and returns its `validators_hash` and total voting power. Used when a committee is
    ///         installed (rare), so it works on memory.
    function checkedCommitteeHash(address[] memory members, uint64[] memory powers)
        internal
        pure
        returns (bytes32 h, uint64 total)
    {
        uint256 n = members.length;
        if (n != powers.length) revert LengthMismatch(n, powers.length);
        if (n == 0) revert EmptyCommittee();
        if (n > MAX_COMMITTEE_SIZE) revert CommitteeTooLarge(n);
        bytes memory packed = new bytes(n * 28);
        uint256 sum;
        address previous;
        for (uint256 i; i < n; ++i) {
            address member = members[i];
            uint64 power = powers[i];
            // `previous` starts at address(0), so the zero address can never be a member.
            if (member <= previous) revert CommitteeNotSorted(i);
            if (power == 0) revert ZeroVotingPower(i);
            sum += power;
            previous = member;
            assembly ("memory-safe") {
                let p := add(add(packed, 32), mul(i, 28))
                // 20 address bytes, then 8 power bytes; the next member overwrites the tail
                // (the last tail lands in unallocated memory past `packed`).
                mstore(p, shl(96, member))
                mstore(add(p, 20), shl(192, power))
            }
        }
        if (sum > type(uint64).max) revert TotalPowerOverflow();
        // forge-lint: disable-next-line(unsafe-typecast) -- checked on the line above
        return (keccak256(packed), uint64(sum));
    }
}
