// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {LightClient} from "./LightClient.sol";

/// @title BatchInbox
/// @notice Where Ordo's decided chain is posted for data availability (docs/FORMATS.md, "L1
///         batches"). Anyone may post a frame of the batch for Ordo heights `start..=end`, in
///         the transaction's blobs (`post`) or in calldata (`postCalldata`), as long as the
///         `LightClient` holds `endHash` at `end`: a post is only ever about a certified range.
///         The contract stores nothing; the `BatchPosted` event is the record a rebuilder reads
///         (a reverted post leaves none). It does not check the data: a frame that does not
///         decode, or decodes to blocks that do not chain to `endHash`, is ignored by the
///         rebuilder, so several posters cost gas but cannot corrupt the history.
///         `certifyAndPost` and `certifyAndPostCalldata` first hand the light client the
///         range's last block with its precommits, so that an uncertified range takes one L1
///         transaction, not two (a blob transaction and another transaction of the same account
///         cannot share an L1 block, so two would take two blocks).
/// @dev    Blob versioned hashes come from `blobhash(i)` for `i = 0, 1, ...` until the first
///         zero, which covers every blob the transaction carries.
contract BatchInbox {
    /// @notice The precommits that certify a block to the light client (`LightClient.submitBlock`).
    struct Certificate {
        uint32 round;
        LightClient.Committee committee;
        LightClient.SignerSig[] sigs;
    }

    /// @notice The light client whose certified hashes gate every post.
    LightClient public immutable lightClient;

    /// @notice A frame of the batch for heights `start..=end` (whose last block hashes to
    ///         `endHash`) was posted by `poster`: in the blobs with `blobHashes`, or in `data`.
    ///         Exactly one of `blobHashes` and `data` is non-empty.
    event BatchPosted(
        uint64 indexed start,
        uint64 indexed end,
        address indexed poster,
        bytes32 endHash,
        bytes32[] blobHashes,
        bytes data
    );

    /// @notice The light client address is zero.
    error ZeroLightClient();
    /// @notice `start` is zero or after `end`.
    error InvalidRange(uint64 start, uint64 end);
    /// @notice The light client holds `certified` (zero: nothing) at `end`, not `endHash`.
    error NotCertified(uint64 end, bytes32 certified, bytes32 endHash);
    /// @notice `post` was called by a transaction that carries no blob.
    error NoBlobs();
    /// @notice `postCalldata` was called by a transaction that carries blobs.
    error UnexpectedBlobs();
    /// @notice `postCalldata` was given no data.
    error EmptyData();

    /// @param lightClient_ The deployed `LightClient` of the Ordo chain this inbox serves.
    constructor(LightClient lightClient_) {
        if (address(lightClient_) == address(0)) revert ZeroLightClient();
        lightClient = lightClient_;
    }

    /// @notice Records the blobs of this transaction as a frame of the batch `start..=end`.
    /// @return blobHashes The versioned hashes of the transaction's blobs, as emitted.
    function post(uint64 start, uint64 end, bytes32 endHash) public returns (bytes32[] memory blobHashes) {
        _checkCertified(start, end, endHash);
        uint256 count = 0;
        while (blobhash(count) != bytes32(0)) {
            ++count;
        }
        if (count == 0) revert NoBlobs();
        blobHashes = new bytes32[](count);
        for (uint256 i = 0; i < count; ++i) {
            blobHashes[i] = blobhash(i);
        }
        emit BatchPosted(start, end, msg.sender, endHash, blobHashes, "");
    }

    /// @notice Records `data` as a frame of the batch `start..=end`.
    function postCalldata(uint64 start, uint64 end, bytes32 endHash, bytes calldata data) public {
        _checkCertified(start, end, endHash);
        if (data.length == 0) revert EmptyData();
        if (blobhash(0) != bytes32(0)) revert UnexpectedBlobs();
        emit BatchPosted(start, end, msg.sender, endHash, new bytes32[](0), data);
    }

    /// @notice `post`, after storing `endHash` at `end` in the light client with `certificate`
    ///         unless it holds a hash there already. A certificate the light client refuses
    ///         reverts the whole transaction with the light client's error.
    function certifyAndPost(uint64 start, uint64 end, bytes32 endHash, Certificate calldata certificate)
        external
        returns (bytes32[] memory blobHashes)
    {
        _certify(end, endHash, certificate);
        return post(start, end, endHash);
    }

    /// @notice `postCalldata`, after certifying as `certifyAndPost` does.
    function certifyAndPostCalldata(
        uint64 start,
        uint64 end,
        bytes32 endHash,
        Certificate calldata certificate,
        bytes calldata data
    ) external {
        _certify(end, endHash, certificate);
        postCalldata(start, end, endHash, data);
    }

    function _certify(uint64 end, bytes32 endHash, Certificate calldata certificate) private {
        if (lightClient.blockHashAt(end) == bytes32(0)) {
            lightClient.submitBlock(end, certificate.round, endHash, certificate.committee, certificate.sigs);
        }
    }

    function _checkCertified(uint64 start, uint64 end, bytes32 endHash) private view {
        if (start == 0 || start > end) revert InvalidRange(start, end);
        bytes32 certified = lightClient.blockHashAt(end);
        if (certified == bytes32(0) || certified != endHash) revert NotCertified(end, certified, endHash);
    }
}
