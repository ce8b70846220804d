// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Base} from "./Base.sol";
import {LightClient} from "../../src/LightClient.sol";
import {OrdoSig} from "../../src/OrdoSig.sol";

/// @notice Test committees: keys sorted by address, voting powers, precommit signatures, headers.
abstract contract Committees is Base {
    struct Committee {
        uint256[] keys;
        address[] members;
        uint64[] powers;
    }

    /// @notice `n` members from key seeds `seed .. seed+n-1`, sorted by address, all with `power`.
    function makeCommittee(uint256 n, uint256 seed, uint64 power) internal pure returns (Committee memory c) {
        uint64[] memory powers = new uint64[](n);
        for (uint256 i; i < n; ++i) {
            powers[i] = power;
        }
        return makeWeighted(seed, powers);
    }

    /// @notice One member per entry of `powers` (given in member order after sorting).
    function makeWeighted(uint256 seed, uint64[] memory powers) internal pure returns (Committee memory c) {
        uint256 n = powers.length;
        c.keys = new uint256[](n);
        c.members = new address[](n);
        c.powers = powers;
        for (uint256 i; i < n; ++i) {
            c.keys[i] = keyFrom(seed + i);
            c.members[i] = vm.addr(c.keys[i]);
        }
        // Insertion sort by address (keys move with their addresses).
        for (uint256 i = 1; i < n; ++i) {
            address a = c.members[i];
            uint256 k = c.keys[i];
            uint256 j = i;
            while (j > 0 && c.members[j - 1] > a) {
                c.members[j] = c.members[j - 1];
                c.keys[j] = c.keys[j - 1];
                --j;
            }
            c.members[j] = a;
            c.keys[j] = k;
        }
    }

    function hashOf(Committee memory c) internal pure returns (bytes32 h) {
        bytes memory packed;
        for (uint256 i; i < c.members.length; ++i) {
            packed = abi.encodePacked(packed, c.members[i], c.powers[i]);
        }
        return keccak256(packed);
    }

    /// @notice The calldata shape the light client takes.
    function lcc(Committee memory c) internal pure returns (LightClient.Committee memory) {
        return LightClient.Committee({members: c.members, powers: c.powers});
    }

    function totalOf(Committee memory c) internal pure returns (uint256 total) {
        for (uint256 i; i < c.powers.length; ++i) {
            total += c.powers[i];
        }
    }

    /// @notice Precommit signatures of the members at `indices` (in the given order).
    function precommits(
        Committee memory c,
        uint64 chainId,
        uint64 height,
        uint32 round,
        bytes32 blockHash,
        uint256[] memory indices
    ) internal pure returns (LightClient.SignerSig[] memory sigs) {
        bytes32 digest = OrdoSig.voteDigest(chainId, height, round, OrdoSig.PRECOMMIT, blockHash);
        sigs = new LightClient.SignerSig[](indices.length);
        for (uint256 k; k < indices.length; ++k) {
            (uint8 v, bytes32 r, bytes32 s) = signLowS(c.keys[indices[k]], digest);
            sigs[k] = LightClient.SignerSig({index: uint16(indices[k]), v: v, r: r, s: s});
        }
    }

    /// @notice Indices `0 .. count-1`.
    function firstN(uint256 count) internal pure returns (uint256[] memory indices) {
        indices = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            indices[i] = i;
        }
    }

    /// @notice Smallest signer count whose equal-power votes exceed 2/3 of `n`.
    function quorum(uint256 n) internal pure returns (uint256) {
        return (2 * n) / 3 + 1;
    }

    /// @notice A FORMATS.md version-3 header (297 bytes) with the fields the light client reads.
    function header(uint64 chainId, uint64 height, bytes32 validatorsHash, bytes32 nextValidatorsHash)
        internal
        pure
        returns (bytes memory)
    {
        bytes memory front = abi.encodePacked(
            uint8(3),
            chainId,
            height,
            uint64(7), // epoch
            uint64(1_700_000_000_000), // timestamp_ms
            keccak256("parent"),
            address(0xB0B),
            keccak256("namespaces"),
            uint32(3) // tx_count
        );
        return abi.encodePacked(
            front,
            validatorsHash,
            nextValidatorsHash,
            uint64(12), // l1_origin_number
            keccak256("l1"),
            uint64(5), // inbox_cursor
            keccak256("bundles"), // bundle_root
            keccak256("key") // encryption_key_hash
        );
    }
}
