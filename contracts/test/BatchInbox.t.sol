// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Committees} from "./utils/Committees.sol";
import {LightClient} from "../src/LightClient.sol";
import {BatchInbox} from "../src/BatchInbox.sol";

/// @notice Foundry's blob cheatcode (not in the test base's `Vm`): sets `blobhash(i)` for the
///         next calls.
interface VmBlobs {
    function blobhashes(bytes32[] calldata hashes) external;
}

contract BatchInboxTest is Committees {
    uint64 internal constant CHAIN = 7;
    uint64 internal constant END = 10;
    bytes32 internal constant END_HASH = keccak256("block 10");

    VmBlobs internal constant blobs = VmBlobs(address(uint160(uint256(keccak256("hevm cheat code")))));

    LightClient internal lc;
    BatchInbox internal inbox;
    Committee internal c4;
    address internal poster = address(0xBA7C);

    event BatchPosted(
        uint64 indexed start,
        uint64 indexed end,
        address indexed poster,
        bytes32 endHash,
        bytes32[] blobHashes,
        bytes data
    );

    function setUp() public {
        vm.roll(100);
        c4 = makeCommittee(4, 1, 10);
        lc = new LightClient(CHAIN, 1, c4.members, c4.powers, 1000);
        lc.submitBlock(END, 0, END_HASH, lcc(c4), precommits(c4, CHAIN, END, 0, END_HASH, firstN(3)));
        inbox = new BatchInbox(lc);
    }

    function hashes(uint256 n) internal pure returns (bytes32[] memory h) {
        h = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            // A versioned hash: 0x01, then 31 bytes of a KZG commitment's sha256.
            h[i] = bytes32((uint256(0x01) << 248) | uint256(keccak256(abi.encode(i))) >> 8);
        }
    }

    function test_constructor_rejectsZeroLightClient() public {
        vm.expectRevert(BatchInbox.ZeroLightClient.selector);
        new BatchInbox(LightClient(address(0)));
        assertEq(address(inbox.lightClient()), address(lc), "light client");
    }

    function test_post_recordsEveryBlobOfACertifiedRange() public {
        bytes32[] memory h = hashes(3);
        blobs.blobhashes(h);
        vm.expectEmit(true, true, true, true, address(inbox));
        emit BatchPosted(1, END, poster, END_HASH, h, "");
        vm.prank(poster);
        bytes32[] memory recorded = inbox.post(1, END, END_HASH);
        assertEq(recorded.length, 3, "blob count");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(recorded[i], h[i], "blob hash");
        }
    }

    function test_post_isPermissionless() public {
        blobs.blobhashes(hashes(1));
        vm.expectEmit(true, true, true, true, address(inbox));
        emit BatchPosted(5, END, address(0xCAFE), END_HASH, hashes(1), "");
        vm.prank(address(0xCAFE));
        inbox.post(5, END, END_HASH);
    }

    function test_post_refusesAnUncertifiedRange() public {
        blobs.blobhashes(hashes(1));
        // Nothing certified at 11.
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.NotCertified.selector, 11, bytes32(0), END_HASH));
        inbox.post(1, 11, END_HASH);
        // Another hash than the certified one at 10.
        bytes32 forged = keccak256("forged");
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.NotCertified.selector, END, END_HASH, forged));
        inbox.post(1, END, forged);
        // The zero hash is never certified, even where nothing is.
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.NotCertified.selector, 12, bytes32(0), bytes32(0)));
        inbox.post(1, 12, bytes32(0));
    }

    function test_post_refusesABadRange() public {
        blobs.blobhashes(hashes(1));
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.InvalidRange.selector, 0, END));
        inbox.post(0, END, END_HASH);
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.InvalidRange.selector, END + 1, END));
        inbox.post(END + 1, END, END_HASH);
    }

    function test_post_refusesATransactionWithoutBlobs() public {
        vm.expectRevert(BatchInbox.NoBlobs.selector);
        inbox.post(1, END, END_HASH);
    }

    function test_postCalldata_recordsTheData() public {
        bytes memory frame = hex"0100000000000000010000000000000000a0";
        vm.expectEmit(true, true, true, true, address(inbox));
        emit BatchPosted(END, END, poster, END_HASH, new bytes32[](0), frame);
        vm.prank(poster);
        inbox.postCalldata(END, END, END_HASH, frame);
    }

    function test_postCalldata_refusesEmptyDataBlobsAndUncertifiedRanges() public {
        vm.expectRevert(BatchInbox.EmptyData.selector);
        inbox.postCalldata(1, END, END_HASH, "");
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.NotCertified.selector, 9, bytes32(0), END_HASH));
        inbox.postCalldata(1, 9, END_HASH, hex"00");
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.InvalidRange.selector, 3, 2));
        inbox.postCalldata(3, 2, END_HASH, hex"00");
        blobs.blobhashes(hashes(2));
        vm.expectRevert(BatchInbox.UnexpectedBlobs.selector);
        inbox.postCalldata(1, END, END_HASH, hex"00");
    }

    /// @notice The certificate of block `height` hashing to `blockHash`, signed by the first
    ///         `signers` members of the committee.
    function certificate(uint64 height, bytes32 blockHash, uint256 signers)
        internal
        view
        returns (BatchInbox.Certificate memory)
    {
        return BatchInbox.Certificate({
            round: 0, committee: lcc(c4), sigs: precommits(c4, CHAIN, height, 0, blockHash, firstN(signers))
        });
    }

    function test_certifyAndPost_certifiesTheRangeAndPostsInOneCall() public {
        uint64 end = 20;
        bytes32 endHash = keccak256("block 20");
        bytes32[] memory h = hashes(2);
        blobs.blobhashes(h);
        vm.expectEmit(true, true, true, true, address(inbox));
        emit BatchPosted(END + 1, end, poster, endHash, h, "");
        vm.prank(poster);
        bytes32[] memory recorded = inbox.certifyAndPost(END + 1, end, endHash, certificate(end, endHash, 3));
        assertEq(recorded.length, 2, "blob count");
        assertEq(lc.blockHashAt(end), endHash, "the light client holds the range's end");
        assertEq(lc.latestHeight(), end, "latest height");
    }

    function test_certifyAndPost_skipsTheCertificateWhereTheLightClientHoldsTheHash() public {
        // Height 10 is certified already: an empty certificate is enough (a second batcher
        // that certified the same block meanwhile does not make the post fail).
        blobs.blobhashes(hashes(1));
        BatchInbox.Certificate memory none;
        inbox.certifyAndPost(1, END, END_HASH, none);
        // Another hash than the one held is refused, with or without a certificate for it.
        bytes32 forged = keccak256("forged");
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.NotCertified.selector, END, END_HASH, forged));
        inbox.certifyAndPost(1, END, forged, certificate(END, forged, 3));
    }

    function test_certifyAndPost_revertsWithTheLightClientsErrorOnABadCertificate() public {
        uint64 end = 20;
        bytes32 endHash = keccak256("block 20");
        blobs.blobhashes(hashes(1));
        // Two of four equal powers are not more than two thirds.
        vm.expectRevert(abi.encodeWithSelector(LightClient.InsufficientVotingPower.selector, 20, 40));
        inbox.certifyAndPost(1, end, endHash, certificate(end, endHash, 2));
        // Signatures over another block.
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 0));
        inbox.certifyAndPost(1, end, endHash, certificate(end, keccak256("other"), 3));
        assertEq(lc.blockHashAt(end), bytes32(0), "nothing stored");
    }

    function test_certifyAndPostCalldata_certifiesAndRecordsTheData() public {
        uint64 end = 20;
        bytes32 endHash = keccak256("block 20");
        bytes memory frame = hex"0100000000000000010000000000000000a0";
        vm.expectEmit(true, true, true, true, address(inbox));
        emit BatchPosted(END + 1, end, poster, endHash, new bytes32[](0), frame);
        vm.prank(poster);
        inbox.certifyAndPostCalldata(END + 1, end, endHash, certificate(end, endHash, 3), frame);
        assertEq(lc.blockHashAt(end), endHash, "certified");
        vm.expectRevert(BatchInbox.EmptyData.selector);
        inbox.certifyAndPostCalldata(END + 1, 30, endHash, certificate(30, endHash, 3), "");
    }
}
