// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {OrdoSig} from "./OrdoSig.sol";

/// @title LightClient
/// @notice Follows Ordo's finalized blocks on L1. It holds a commitment to the current committee
///         (the FORMATS.md `validators_hash` and the total voting power) and accepts a block hash
///         for a height when members holding more than 2/3 of the committee's voting power signed
///         a precommit for it. The committee moves on when the current one certifies a header
///         whose `next_validators_hash` names the next committee.
/// @dev    The committee itself travels in calldata and is checked against the stored hash, so a
///         submission costs one `ecrecover` per signature and no storage reads per member.
///         There is no owner and nothing to configure after deployment.
contract LightClient {
    /// @notice One commit signature: `index` is the signer's position in the committee (members
    ///         sorted by address), `v`/`r`/`s` its precommit signature (FORMATS.md `r || s || v`).
    struct SignerSig {
        uint16 index;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A committee as passed in calldata: members in ascending address order and their
    ///         voting powers, in the same order. It hashes to FORMATS.md `validators_hash`.
    struct Committee {
        address[] members;
        uint64[] powers;
    }

    uint256 private constant HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    uint256 private constant FAIL_NOT_ASCENDING = 1;
    uint256 private constant FAIL_OUT_OF_RANGE = 2;
    uint256 private constant FAIL_SIGNATURE = 3;

    /// @notice Length of a FORMATS.md version-3 header.
    uint256 public constant HEADER_LENGTH = 297;
    /// @notice Version byte of the header format this client reads.
    uint8 public constant HEADER_VERSION = 3;

    /// @notice The Ordo chain id this light client follows (signed into every vote and header).
    uint64 public immutable chainId;
    /// @notice After this many L1 blocks without a new latest height, `isLagging()` is true.
    uint64 public immutable maxLagBlocks;

    /// @notice `validators_hash` of the current committee.
    bytes32 public committeeHash;
    /// @notice Total voting power of the current committee.
    uint64 public totalPower;
    /// @notice Height of the header that installed the current committee (0 for the initial one):
    ///         the current committee decides heights above it.
    uint64 public rotationHeight;
    /// @notice Highest height with a stored block hash.
    uint64 public latestHeight;
    /// @notice L1 block number at which `latestHeight` last increased (or deployment).
    uint64 public lastUpdateBlock;
    /// @notice Committee epoch: the constructor's initial epoch plus the number of rotations.
    uint64 public epoch;

    mapping(uint64 height => bytes32 blockHash) private _blockHashes;

    /// @notice A block hash was certified and stored.
    event BlockSubmitted(uint64 indexed height, bytes32 blockHash, uint32 round, uint64 signedPower);
    /// @notice A committee was installed (also emitted by the constructor for the initial one).
    event CommitteeRotated(
        uint64 indexed epoch,
        bytes32 committeeHash,
        uint64 totalPower,
        uint64 height,
        address[] members,
        uint64[] powers
    );

    /// @notice The committee passed in calldata is not the current one.
    error CommitteeMismatch(bytes32 expected, bytes32 given);
    /// @notice A signature names a position outside the committee.
    error SignerIndexOutOfRange(uint256 position, uint256 index);
    /// @notice Signer indices must strictly increase (a signer appears at most once).
    error SignersNotAscending(uint256 position);
    /// @notice The signature at `position` is malformed or not by the member it names.
    error InvalidSignature(uint256 position);
    /// @notice The valid signatures hold at most 2/3 of the voting power.
    error InsufficientVotingPower(uint64 signed, uint64 total);
    /// @notice The height is not above the height that installed the current committee.
    error HeightNotAfterRotation(uint64 height, uint64 rotationHeight);
    /// @notice A different hash is already stored for this height.
    error ConflictingBlock(uint64 height, bytes32 stored, bytes32 submitted);
    /// @notice The same hash is already stored for this height.
    error BlockAlreadyStored(uint64 height);
    /// @notice The zero hash is a nil vote, never a block.
    error ZeroBlockHash();
    /// @notice The header is not 297 bytes long.
    error BadHeaderLength(uint256 length);
    /// @notice The header's version byte is not 3.
    error BadHeaderVersion(uint8 version);
    /// @notice The header is for another Ordo chain.
    error WrongChainId(uint64 expected, uint64 given);
    /// @notice The header's `validators_hash` is not the current committee.
    error HeaderCommitteeMismatch(bytes32 expected, bytes32 given);
    /// @notice The header's `next_validators_hash` is the current committee: nothing to rotate.
    error CommitteeUnchanged();
    /// @notice The new committee does not hash to the header's `next_validators_hash`.
    error NextCommitteeMismatch(bytes32 expected, bytes32 given);
    /// @notice A rotation header below the latest stored height.
    error RotationBehindLatest(uint64 height, uint64 latestHeight);

    /// @param chainId_ Ordo chain id (FORMATS.md `chain_id`).
    /// @param initialEpoch Epoch number of the initial committee.
    /// @param members Initial committee, ascending addresses.
    /// @param powers Voting power of each member, same order.
    /// @param maxLagBlocks_ Escape-hatch threshold in L1 blocks for `isLagging()`.
    constructor(
        uint64 chainId_,
        uint64 initialEpoch,
        address[] memory members,
        uint64[] memory powers,
        uint64 maxLagBlocks_
    ) {
        chainId = chainId_;
        maxLagBlocks = maxLagBlocks_;
        (bytes32 h, uint64 total) = OrdoSig.checkedCommitteeHash(members, powers);
        committeeHash = h;
        totalPower = total;
        epoch = initialEpoch;
        lastUpdateBlock = uint64(block.number);
        emit CommitteeRotated(initialEpoch, h, total, 0, members, powers);
    }

    /// @notice Checks a committee (non-empty, ascending unique non-zero addresses, powers > 0,
    ///         total in u64, at most 1024 members) and returns its `validators_hash` and total power.
    function hashCommittee(address[] memory members, uint64[] memory powers)
        external
        pure
        returns (bytes32 hash, uint64 total)
    {
        return OrdoSig.checkedCommitteeHash(members, powers);
    }

    /// @notice Stores `blockHash` as the block at `height` if members of the current committee
    ///         holding more than 2/3 of its voting power signed a precommit for it in `round`.
    /// @param committee The current committee; must hash to `committeeHash`.
    /// @param sigs Precommit signatures, strictly ascending `index`.
    function submitBlock(
        uint64 height,
        uint32 round,
        bytes32 blockHash,
        Committee calldata committee,
        SignerSig[] calldata sigs
    ) external {
        if (height <= rotationHeight) {
            revert HeightNotAfterRotation(height, rotationHeight);
        }
        uint64 signed = _verifyCommit(_precommitDigest(height, round, blockHash), committee, sigs);
        _store(height, blockHash, round, signed);
    }

    /// @notice Moves to the next committee. `header` (297 bytes, FORMATS.md) must be certified by
    ///         the current committee, name it as `validators_hash`, and name `newCommittee` as
    ///         `next_validators_hash` (different from the current one). The header's block hash
    ///         is stored for its height like `submitBlock` would.
    function rotateCommittee(
        bytes calldata header,
        uint32 round,
        Committee calldata committee,
        SignerSig[] calldata sigs,
        Committee calldata newCommittee
    ) external {
        (uint64 height, bytes32 next) = _checkRotationHeader(header);
        bytes32 blockHash = keccak256(header);
        uint64 signed = _verifyCommit(_precommitDigest(height, round, blockHash), committee, sigs);
        (bytes32 newHash, uint64 newTotal) = OrdoSig.checkedCommitteeHash(newCommittee.members, newCommittee.powers);
        if (newHash != next) revert NextCommitteeMismatch(next, newHash);

        // The header's height may already hold the same hash (submitted before the rotation).
        if (_blockHashes[height] != blockHash) _store(height, blockHash, round, signed);

        uint64 newEpoch = epoch + 1;
        committeeHash = newHash;
        totalPower = newTotal;
        rotationHeight = height;
        epoch = newEpoch;
        emit CommitteeRotated(newEpoch, newHash, newTotal, height, newCommittee.members, newCommittee.powers);
    }

    /// @notice The certified block hash at `height`, or zero when none was submitted.
    function blockHashAt(uint64 height) external view returns (bytes32) {
        return _blockHashes[height];
    }

    /// @notice L1 blocks since `latestHeight` last increased.
    function blocksSinceUpdate() public view returns (uint256) {
        return block.number - lastUpdateBlock;
    }

    /// @notice True when no newer Ordo block arrived for more than `maxLagBlocks` L1 blocks:
    ///         the signal for rollups to open their escape hatch.
    function isLagging() external view returns (bool) {
        return blocksSinceUpdate() > maxLagBlocks;
    }

    /// @dev Checks a rotation header's fields; returns its height and `next_validators_hash`.
    function _checkRotationHeader(bytes calldata header) private view returns (uint64 height, bytes32 next) {
        if (header.length != HEADER_LENGTH) revert BadHeaderLength(header.length);
        if (uint8(header[0]) != HEADER_VERSION) revert BadHeaderVersion(uint8(header[0]));
        uint64 headerChainId = uint64(bytes8(header[1:9]));
        if (headerChainId != chainId) revert WrongChainId(chainId, headerChainId);
        height = uint64(bytes8(header[9:17]));
        if (height <= rotationHeight) revert HeightNotAfterRotation(height, rotationHeight);
        if (height < latestHeight) revert RotationBehindLatest(height, latestHeight);
        bytes32 current = committeeHash;
        bytes32 headerCommittee = bytes32(header[121:153]);
        if (headerCommittee != current) revert HeaderCommitteeMismatch(current, headerCommittee);
        next = bytes32(header[153:185]);
        if (next == current) revert CommitteeUnchanged();
    }

    /// @dev Checks `sigs` (precommits over `digest` by distinct members of `committee`, which
    ///      must be the current committee); returns the signed power, which must exceed 2/3 of
    ///      the total or it reverts.
    function _verifyCommit(bytes32 digest, Committee calldata committee, SignerSig[] calldata sigs)
        private
        view
        returns (uint64)
    {
        {
            bytes32 expected = committeeHash;
            bytes32 given = OrdoSig.committeeHash(committee.members, committee.powers);
            if (given != expected) revert CommitteeMismatch(expected, given);
        }
        (uint256 signed, uint256 failure, uint256 position) = _tally(digest, committee.members, committee.powers, sigs);
        if (failure == FAIL_NOT_ASCENDING) revert SignersNotAscending(position);
        if (failure == FAIL_OUT_OF_RANGE) revert SignerIndexOutOfRange(position, sigs[position].index);
        if (failure == FAIL_SIGNATURE) revert InvalidSignature(position);
        // signed <= total < 2^64: the indices are distinct members of a committee whose total
        // was checked to fit in u64 when it was installed (the hash binds members and powers).
        uint64 total = totalPower;
        // forge-lint: disable-next-line(unsafe-typecast) -- signed <= total, see above
        if (3 * signed <= 2 * uint256(total)) revert InsufficientVotingPower(uint64(signed), total);
        // forge-lint: disable-next-line(unsafe-typecast) -- signed <= total, see above
        return uint64(signed);
    }

    /// @dev The per-signature loop, in assembly because it is most of `submitBlock`'s cost. For
    ///      each `sigs[k]` (inline in calldata: index, v, r, s, one word each) in order: the
    ///      index must exceed the previous one (so a signer counts at most once) and be inside
    ///      the committee; the signature must be canonical (v in {27, 28}, s <= n/2, the rule of
    ///      `OrdoSig.tryRecover`) and recover, through the ecrecover precompile, to
    ///      `members[index]`; then `powers[index]` is added. The first failure stops the loop and
    ///      is reported as (kind, position). Member and power words are clean: `committeeHash`
    ///      rejected any with bits above their ABI type.
    function _tally(bytes32 digest, address[] calldata members, uint64[] calldata powers, SignerSig[] calldata sigs)
        private
        view
        returns (uint256 signed, uint256 failure, uint256 position)
    {
        assembly ("memory-safe") {
            let m := mload(0x40) // ecrecover input: digest, v, r, s
            mstore(m, digest)
            let next := 0
            let end := add(sigs.offset, shl(7, sigs.length))
            for { let p := sigs.offset } lt(p, end) { p := add(p, 128) } {
                let index := calldataload(p)
                if lt(index, next) {
                    failure := FAIL_NOT_ASCENDING
                    position := shr(7, sub(p, sigs.offset))
                    break
                }
                if iszero(lt(index, members.length)) {
                    failure := FAIL_OUT_OF_RANGE
                    position := shr(7, sub(p, sigs.offset))
                    break
                }
                mstore(0x00, 0)
                let v := calldataload(add(p, 32))
                let s := calldataload(add(p, 96))
                if and(or(eq(v, 27), eq(v, 28)), iszero(gt(s, HALF_ORDER))) {
                    mstore(add(m, 32), v)
                    mstore(add(m, 64), calldataload(add(p, 64)))
                    mstore(add(m, 96), s)
                    // A failed recovery returns no data and leaves the zero in place.
                    pop(staticcall(gas(), 1, m, 128, 0x00, 32))
                }
                let signer := mload(0x00)
                if or(iszero(signer), iszero(eq(signer, calldataload(add(members.offset, shl(5, index)))))) {
                    failure := FAIL_SIGNATURE
                    position := shr(7, sub(p, sigs.offset))
                    break
                }
                signed := add(signed, calldataload(add(powers.offset, shl(5, index))))
                next := add(index, 1)
            }
        }
    }

    /// @dev The precommit digest for a block, after rejecting the zero (nil) hash.
    function _precommitDigest(uint64 height, uint32 round, bytes32 blockHash) private view returns (bytes32) {
        if (blockHash == bytes32(0)) revert ZeroBlockHash();
        return OrdoSig.voteDigest(chainId, height, round, OrdoSig.PRECOMMIT, blockHash);
    }

    function _store(uint64 height, bytes32 blockHash, uint32 round, uint64 signed) private {
        bytes32 stored = _blockHashes[height];
        if (stored == blockHash) revert BlockAlreadyStored(height);
        if (stored != bytes32(0)) revert ConflictingBlock(height, stored, blockHash);
        _blockHashes[height] = blockHash;
        if (height > latestHeight) {
            latestHeight = height;
            lastUpdateBlock = uint64(block.number);
        }
        emit BlockSubmitted(height, blockHash, round, signed);
    }
}
