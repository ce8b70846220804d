// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Committees} from "./utils/Committees.sol";
import {LightClient} from "../src/LightClient.sol";
import {OrdoSig} from "../src/OrdoSig.sol";

contract LightClientTest is Committees {
    uint64 internal constant CHAIN = 4242;
    uint64 internal constant MAX_LAG = 50;

    Committee internal c4;
    LightClient internal lc;

    event BlockSubmitted(uint64 indexed height, bytes32 blockHash, uint32 round, uint64 signedPower);
    event CommitteeRotated(
        uint64 indexed epoch,
        bytes32 committeeHash,
        uint64 totalPower,
        uint64 height,
        address[] members,
        uint64[] powers
    );

    function setUp() public {
        vm.roll(100);
        c4 = makeCommittee(4, 1, 10);
        lc = new LightClient(CHAIN, 1, c4.members, c4.powers, MAX_LAG);
    }

    function submit(Committee memory c, uint64 height, bytes32 blockHash, uint256[] memory signers) internal {
        lc.submitBlock(height, 0, blockHash, lcc(c), precommits(c, CHAIN, height, 0, blockHash, signers));
    }

    function idx(uint256 a, uint256 b) internal pure returns (uint256[] memory r) {
        r = new uint256[](2);
        (r[0], r[1]) = (a, b);
    }

    function idx(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory r) {
        r = new uint256[](3);
        (r[0], r[1], r[2]) = (a, b, c);
    }

    function idx(uint256 a, uint256 b, uint256 c, uint256 d) internal pure returns (uint256[] memory r) {
        r = new uint256[](4);
        (r[0], r[1], r[2], r[3]) = (a, b, c, d);
    }

    // ------------------------------------------------------------------ constructor

    function test_constructor_storesCommitment() public view {
        assertEq(lc.committeeHash(), hashOf(c4), "committee hash");
        assertEq(lc.totalPower(), 40, "total power");
        assertEq(lc.epoch(), 1, "epoch");
        assertEq(lc.chainId(), CHAIN, "chain id");
        assertEq(lc.latestHeight(), 0, "latest");
        assertEq(lc.lastUpdateBlock(), 100, "last update");
    }

    function test_constructor_emitsCommittee() public {
        vm.expectEmit(true, false, false, true);
        emit CommitteeRotated(3, hashOf(c4), 40, 0, c4.members, c4.powers);
        new LightClient(CHAIN, 3, c4.members, c4.powers, MAX_LAG);
    }

    function test_constructor_rejectsEmpty() public {
        vm.expectRevert(OrdoSig.EmptyCommittee.selector);
        new LightClient(CHAIN, 0, new address[](0), new uint64[](0), MAX_LAG);
    }

    function test_constructor_rejectsLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(OrdoSig.LengthMismatch.selector, 4, 3));
        new LightClient(CHAIN, 0, c4.members, new uint64[](3), MAX_LAG);
    }

    function test_constructor_rejectsUnsorted() public {
        address[] memory members = c4.members;
        (members[1], members[2]) = (members[2], members[1]);
        vm.expectRevert(abi.encodeWithSelector(OrdoSig.CommitteeNotSorted.selector, 2));
        new LightClient(CHAIN, 0, members, c4.powers, MAX_LAG);
    }

    function test_constructor_rejectsDuplicateMember() public {
        address[] memory members = c4.members;
        members[2] = members[1];
        vm.expectRevert(abi.encodeWithSelector(OrdoSig.CommitteeNotSorted.selector, 2));
        new LightClient(CHAIN, 0, members, c4.powers, MAX_LAG);
    }

    function test_constructor_rejectsZeroAddress() public {
        address[] memory members = c4.members;
        members[0] = address(0);
        vm.expectRevert(abi.encodeWithSelector(OrdoSig.CommitteeNotSorted.selector, 0));
        new LightClient(CHAIN, 0, members, c4.powers, MAX_LAG);
    }

    function test_constructor_rejectsZeroPower() public {
        uint64[] memory powers = c4.powers;
        powers[3] = 0;
        vm.expectRevert(abi.encodeWithSelector(OrdoSig.ZeroVotingPower.selector, 3));
        new LightClient(CHAIN, 0, c4.members, powers, MAX_LAG);
    }

    function test_constructor_rejectsPowerOverflow() public {
        uint64[] memory powers = c4.powers;
        powers[0] = type(uint64).max;
        vm.expectRevert(OrdoSig.TotalPowerOverflow.selector);
        new LightClient(CHAIN, 0, c4.members, powers, MAX_LAG);
    }

    function test_constructor_rejectsTooLarge() public {
        uint256 n = OrdoSig.MAX_COMMITTEE_SIZE + 1;
        vm.expectRevert(abi.encodeWithSelector(OrdoSig.CommitteeTooLarge.selector, n));
        new LightClient(CHAIN, 0, new address[](n), new uint64[](n), MAX_LAG);
    }

    function test_hashCommittee_matchesFormats() public view {
        (bytes32 h, uint64 total) = lc.hashCommittee(c4.members, c4.powers);
        assertEq(h, hashOf(c4), "hash");
        assertEq(total, 40, "total");
    }

    // ------------------------------------------------------------------ submitBlock

    function test_submitBlock_storesWithQuorum() public {
        bytes32 bh = keccak256("block 5");
        vm.expectEmit(true, false, false, true, address(lc));
        emit BlockSubmitted(5, bh, 0, 30);
        submit(c4, 5, bh, idx(0, 1, 3));
        assertEq(lc.blockHashAt(5), bh, "stored");
        assertEq(lc.latestHeight(), 5, "latest");
        assertEq(lc.blockHashAt(4), bytes32(0), "other height empty");
    }

    function test_submitBlock_allSigners() public {
        submit(c4, 1, keccak256("b"), idx(0, 1, 2, 3));
        assertEq(lc.latestHeight(), 1, "latest");
    }

    function test_submitBlock_rejectsExactlyTwoThirds() public {
        Committee memory c6 = makeCommittee(6, 100, 1);
        lc = new LightClient(CHAIN, 0, c6.members, c6.powers, MAX_LAG);
        bytes32 bh = keccak256("b");
        vm.expectRevert(abi.encodeWithSelector(LightClient.InsufficientVotingPower.selector, 4, 6));
        submit(c6, 1, bh, firstN(4));
        submit(c6, 1, bh, firstN(5));
        assertEq(lc.blockHashAt(1), bh, "five of six is enough");
    }

    function test_submitBlock_rejectsOneShortOfQuorum() public {
        vm.expectRevert(abi.encodeWithSelector(LightClient.InsufficientVotingPower.selector, 20, 40));
        submit(c4, 1, keccak256("b"), idx(1, 2));
    }

    function test_submitBlock_rejectsNoSignatures() public {
        vm.expectRevert(abi.encodeWithSelector(LightClient.InsufficientVotingPower.selector, 0, 40));
        submit(c4, 1, keccak256("b"), new uint256[](0));
    }

    function test_submitBlock_weightedPowerCounts() public {
        uint64[] memory powers = new uint64[](4);
        (powers[0], powers[1], powers[2], powers[3]) = (70, 10, 10, 10);
        Committee memory c = makeWeighted(200, powers);
        lc = new LightClient(CHAIN, 0, c.members, c.powers, MAX_LAG);
        // Three small members hold 30 of 100: refused. The big one alone holds 70: accepted.
        vm.expectRevert(abi.encodeWithSelector(LightClient.InsufficientVotingPower.selector, 30, 100));
        submit(c, 1, keccak256("b"), idx(1, 2, 3));
        uint256[] memory big = new uint256[](1);
        submit(c, 1, keccak256("b"), big);
    }

    function test_submitBlock_repeatedSignerRejected() public {
        // 0,0,1 would be 30 of 40 if the repeat counted; repeats are rejected outright.
        uint256[] memory signers = idx(0, 0, 1);
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, keccak256("b"), signers);
        vm.expectRevert(abi.encodeWithSelector(LightClient.SignersNotAscending.selector, 1));
        lc.submitBlock(1, 0, keccak256("b"), lcc(c4), sigs);
    }

    function test_submitBlock_repeatedSignerRejectedEvenWithQuorum() public {
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, keccak256("b"), idx(0, 1, 2, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.SignersNotAscending.selector, 3));
        lc.submitBlock(1, 0, keccak256("b"), lcc(c4), sigs);
    }

    function test_submitBlock_descendingRejected() public {
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, keccak256("b"), idx(0, 2, 1));
        vm.expectRevert(abi.encodeWithSelector(LightClient.SignersNotAscending.selector, 2));
        lc.submitBlock(1, 0, keccak256("b"), lcc(c4), sigs);
    }

    function test_submitBlock_indexOutOfRange() public {
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, keccak256("b"), idx(0, 1, 2));
        sigs[2].index = 4;
        vm.expectRevert(abi.encodeWithSelector(LightClient.SignerIndexOutOfRange.selector, 2, 4));
        lc.submitBlock(1, 0, keccak256("b"), lcc(c4), sigs);
    }

    function test_submitBlock_outsiderDoesNotCount() public {
        // Two members plus a non-member's signature placed at a member's index.
        bytes32 bh = keccak256("b");
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, bh, idx(0, 1, 2));
        (uint8 v, bytes32 r, bytes32 s) = signLowS(keyFrom(999), OrdoSig.voteDigest(CHAIN, 1, 0, OrdoSig.PRECOMMIT, bh));
        sigs[2] = LightClient.SignerSig({index: 2, v: v, r: r, s: s});
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 2));
        lc.submitBlock(1, 0, bh, lcc(c4), sigs);
    }

    function test_submitBlock_outsiderCommitteeRejected() public {
        // A committee that is not the stored one does not verify, even if it signed.
        Committee memory other = makeCommittee(4, 500, 10);
        vm.expectRevert(abi.encodeWithSelector(LightClient.CommitteeMismatch.selector, hashOf(c4), hashOf(other)));
        submit(other, 1, keccak256("b"), idx(0, 1, 2, 3));
    }

    function test_submitBlock_inflatedPowersRejected() public {
        Committee memory inflated = c4;
        inflated.powers[0] = 1000;
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, keccak256("b"), idx(0, 1));
        vm.expectRevert(abi.encodeWithSelector(LightClient.CommitteeMismatch.selector, hashOf(c4), hashOf(inflated)));
        lc.submitBlock(1, 0, keccak256("b"), lcc(inflated), sigs);
    }

    function test_submitBlock_dirtyEncodingRejected() public {
        bytes32 bh = keccak256("b");
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, bh, idx(0, 1, 2));
        bytes memory data = abi.encodeCall(LightClient.submitBlock, (1, 0, bh, lcc(c4), sigs));
        // Calldata: selector | height | round | blockHash | offset(committee) | offset(sigs) | ...
        // committee = offset(members) | offset(powers) | members... | powers...
        uint256 committeeAt = 4 + uint256(wordAt(data, 4 + 96));
        uint256 membersAt = committeeAt + uint256(wordAt(data, committeeAt));
        uint256 powersAt = committeeAt + uint256(wordAt(data, committeeAt + 32));
        bytes memory dirtyMember = bytes.concat(data);
        dirtyMember[membersAt + 32] = 0x01; // a high byte of members[0]
        bytes memory dirtyPower = bytes.concat(data);
        dirtyPower[powersAt + 32 + 20] = 0x01; // a byte above the low 64 bits of powers[0]
        for (uint256 i; i < 2; ++i) {
            (bool ok, bytes memory err) = address(lc).call(i == 0 ? dirtyMember : dirtyPower);
            assertTrue(!ok, "dirty word must not verify");
            assertEq(keccak256(err), keccak256(abi.encodeWithSelector(OrdoSig.NonCanonicalEncoding.selector)), "error");
        }
        (bool clean,) = address(lc).call(data);
        assertTrue(clean, "the clean encoding verifies");
    }

    function wordAt(bytes memory data, uint256 offset) internal pure returns (bytes32 w) {
        assembly {
            w := mload(add(add(data, 32), offset))
        }
    }

    function test_submitBlock_signatureForOtherBlockRejected() public {
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, keccak256("a"), idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 0));
        lc.submitBlock(1, 0, keccak256("b"), lcc(c4), sigs);
    }

    function test_submitBlock_signatureForOtherRoundHeightOrChainRejected() public {
        bytes32 bh = keccak256("b");
        LightClient.SignerSig[] memory otherRound = precommits(c4, CHAIN, 1, 1, bh, idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 0));
        lc.submitBlock(1, 0, bh, lcc(c4), otherRound);
        LightClient.SignerSig[] memory otherHeight = precommits(c4, CHAIN, 2, 0, bh, idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 0));
        lc.submitBlock(1, 0, bh, lcc(c4), otherHeight);
        LightClient.SignerSig[] memory otherChain = precommits(c4, CHAIN + 1, 1, 0, bh, idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 0));
        lc.submitBlock(1, 0, bh, lcc(c4), otherChain);
    }

    function test_submitBlock_prevoteSignatureRejected() public {
        bytes32 bh = keccak256("b");
        bytes32 prevote = OrdoSig.voteDigest(CHAIN, 1, 0, OrdoSig.PREVOTE, bh);
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, bh, idx(0, 1, 2));
        (uint8 v, bytes32 r, bytes32 s) = signLowS(c4.keys[1], prevote);
        sigs[1] = LightClient.SignerSig({index: 1, v: v, r: r, s: s});
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 1));
        lc.submitBlock(1, 0, bh, lcc(c4), sigs);
    }

    function test_submitBlock_highSRejected() public {
        bytes32 bh = keccak256("b");
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, bh, idx(0, 1, 2));
        // The same signature in its high-s twin still recovers with ecrecover, but is not canonical.
        sigs[0].s = bytes32(SECP256K1_N - uint256(sigs[0].s));
        sigs[0].v = sigs[0].v == 27 ? 28 : 27;
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 0));
        lc.submitBlock(1, 0, bh, lcc(c4), sigs);
    }

    function test_submitBlock_badVRejected() public {
        bytes32 bh = keccak256("b");
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, bh, idx(0, 1, 2));
        sigs[0].v -= 27; // 0/1 form
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 0));
        lc.submitBlock(1, 0, bh, lcc(c4), sigs);
    }

    function test_submitBlock_zeroHashRejected() public {
        vm.expectRevert(LightClient.ZeroBlockHash.selector);
        submit(c4, 1, bytes32(0), idx(0, 1, 2));
    }

    function test_submitBlock_sameBlockTwiceRejected() public {
        submit(c4, 3, keccak256("b"), idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.BlockAlreadyStored.selector, 3));
        submit(c4, 3, keccak256("b"), idx(1, 2, 3));
    }

    function test_submitBlock_conflictingBlockRejected() public {
        submit(c4, 3, keccak256("b"), idx(0, 1, 2));
        vm.expectRevert(
            abi.encodeWithSelector(LightClient.ConflictingBlock.selector, 3, keccak256("b"), keccak256("c"))
        );
        submit(c4, 3, keccak256("c"), idx(1, 2, 3));
    }

    function test_submitBlock_heightZeroRejected() public {
        vm.expectRevert(abi.encodeWithSelector(LightClient.HeightNotAfterRotation.selector, 0, 0));
        submit(c4, 0, keccak256("b"), idx(0, 1, 2));
    }

    function test_submitBlock_gapFillKeepsLatestAndLag() public {
        submit(c4, 10, keccak256("10"), idx(0, 1, 2));
        vm.roll(130);
        submit(c4, 7, keccak256("7"), idx(0, 1, 2));
        assertEq(lc.latestHeight(), 10, "latest unchanged");
        assertEq(lc.lastUpdateBlock(), 100, "older height does not reset the lag");
        assertEq(lc.blockHashAt(7), keccak256("7"), "gap filled");
    }

    function test_isLagging() public {
        assertTrue(!lc.isLagging(), "fresh");
        vm.roll(100 + MAX_LAG);
        assertTrue(!lc.isLagging(), "at the limit");
        assertEq(lc.blocksSinceUpdate(), MAX_LAG, "blocks since");
        vm.roll(100 + MAX_LAG + 1);
        assertTrue(lc.isLagging(), "past the limit");
        submit(c4, 1, keccak256("b"), idx(0, 1, 2));
        assertTrue(!lc.isLagging(), "a new block resets");
        assertEq(lc.lastUpdateBlock(), 100 + MAX_LAG + 1, "update block");
    }

    /// Any subset of a weighted committee is accepted iff it holds more than 2/3 of the power.
    function testFuzz_submitBlock_quorumRule(uint256 seed, uint256 mask, uint64[6] memory rawPowers) public {
        uint64[] memory powers = new uint64[](6);
        for (uint256 i; i < 6; ++i) {
            powers[i] = uint64(bound(rawPowers[i], 1, type(uint64).max / 8));
        }
        Committee memory c = makeWeighted(bound(seed, 1, 1e30), powers);
        lc = new LightClient(CHAIN, 0, c.members, c.powers, MAX_LAG);
        uint256 count;
        uint256 signed;
        for (uint256 i; i < 6; ++i) {
            if ((mask >> i) & 1 == 1) ++count;
        }
        uint256[] memory signers = new uint256[](count);
        count = 0;
        for (uint256 i; i < 6; ++i) {
            if ((mask >> i) & 1 == 1) {
                signers[count++] = i;
                signed += c.powers[i];
            }
        }
        uint256 total = totalOf(c);
        bytes32 bh = keccak256(abi.encode(seed));
        // Both fit: six powers below 2^64 / 8 each.
        uint64 signed64 = uint64(bound(signed, 0, type(uint64).max));
        uint64 total64 = uint64(bound(total, 0, type(uint64).max));
        if (3 * signed > 2 * total) {
            submit(c, 9, bh, signers);
            assertEq(lc.blockHashAt(9), bh, "stored");
        } else {
            vm.expectRevert(abi.encodeWithSelector(LightClient.InsufficientVotingPower.selector, signed64, total64));
            submit(c, 9, bh, signers);
        }
    }

    /// A tampered signature never passes.
    function testFuzz_submitBlock_tamperedSignatureRejected(bytes32 r, bytes32 s, uint8 v) public {
        bytes32 bh = keccak256("b");
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 1, 0, bh, idx(0, 1, 2));
        vm.assume(r != sigs[1].r || s != sigs[1].s || v != sigs[1].v);
        sigs[1].r = r;
        sigs[1].s = s;
        sigs[1].v = v;
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 1));
        lc.submitBlock(1, 0, bh, lcc(c4), sigs);
    }

    // ------------------------------------------------------------------ rotateCommittee

    function rotate(Committee memory cur, Committee memory next, uint64 height, uint256[] memory signers)
        internal
        returns (bytes memory h)
    {
        h = header(CHAIN, height, hashOf(cur), hashOf(next));
        lc.rotateCommittee(h, 2, lcc(cur), precommits(cur, CHAIN, height, 2, keccak256(h), signers), lcc(next));
    }

    function test_rotate_movesToNextCommittee() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        bytes memory h = header(CHAIN, 20, hashOf(c4), hashOf(c5));
        vm.expectEmit(true, false, false, true, address(lc));
        emit CommitteeRotated(2, hashOf(c5), 15, 20, c5.members, c5.powers);
        rotate(c4, c5, 20, idx(0, 1, 2));
        assertEq(lc.committeeHash(), hashOf(c5), "new hash");
        assertEq(lc.totalPower(), 15, "new total");
        assertEq(lc.epoch(), 2, "epoch");
        assertEq(lc.rotationHeight(), 20, "rotation height");
        assertEq(lc.blockHashAt(20), keccak256(h), "header block stored");
        assertEq(lc.latestHeight(), 20, "latest");

        // The new committee certifies later heights; the old one no longer does.
        submit(c5, 21, keccak256("21"), firstN(4));
        assertEq(lc.blockHashAt(21), keccak256("21"), "new committee block");
        vm.expectRevert(abi.encodeWithSelector(LightClient.CommitteeMismatch.selector, hashOf(c5), hashOf(c4)));
        submit(c4, 22, keccak256("22"), idx(0, 1, 2));
        // Nothing at or below the rotation height any more.
        vm.expectRevert(abi.encodeWithSelector(LightClient.HeightNotAfterRotation.selector, 19, 20));
        submit(c5, 19, keccak256("19"), firstN(4));
    }

    function test_rotate_twice() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        Committee memory c7 = makeCommittee(7, 70, 1);
        rotate(c4, c5, 20, idx(0, 1, 2));
        rotate(c5, c7, 40, firstN(4));
        assertEq(lc.epoch(), 3, "epoch");
        assertEq(lc.committeeHash(), hashOf(c7), "hash");
        vm.expectRevert(abi.encodeWithSelector(LightClient.HeightNotAfterRotation.selector, 40, 40));
        rotate(c7, c4, 40, firstN(5));
    }

    function test_rotate_afterSameHeaderSubmitted() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        bytes memory h = header(CHAIN, 20, hashOf(c4), hashOf(c5));
        submit(c4, 20, keccak256(h), idx(0, 1, 2));
        rotate(c4, c5, 20, idx(1, 2, 3));
        assertEq(lc.epoch(), 2, "rotated");
    }

    function test_rotate_rejectsShortOfQuorum() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        vm.expectRevert(abi.encodeWithSelector(LightClient.InsufficientVotingPower.selector, 20, 40));
        rotate(c4, c5, 20, idx(0, 3));
    }

    function test_rotate_rejectsNewCommitteeNotInHeader() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        Committee memory c6 = makeCommittee(6, 60, 3);
        bytes memory h = header(CHAIN, 20, hashOf(c4), hashOf(c5));
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 20, 0, keccak256(h), idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.NextCommitteeMismatch.selector, hashOf(c5), hashOf(c6)));
        lc.rotateCommittee(h, 0, lcc(c4), sigs, lcc(c6));
    }

    function test_rotate_rejectsMalformedNewCommittee() public {
        // Header names an unsorted committee; the contract refuses to install it.
        Committee memory c5 = makeCommittee(5, 50, 3);
        (c5.members[0], c5.members[1]) = (c5.members[1], c5.members[0]);
        bytes memory h = header(CHAIN, 20, hashOf(c4), hashOf(c5));
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 20, 0, keccak256(h), idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(OrdoSig.CommitteeNotSorted.selector, 1));
        lc.rotateCommittee(h, 0, lcc(c4), sigs, lcc(c5));
    }

    function test_rotate_rejectsUnchangedCommittee() public {
        vm.expectRevert(LightClient.CommitteeUnchanged.selector);
        rotate(c4, c4, 20, idx(0, 1, 2));
    }

    function test_rotate_rejectsHeaderOfOtherCommittee() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        Committee memory c6 = makeCommittee(6, 60, 3);
        bytes memory h = header(CHAIN, 20, hashOf(c6), hashOf(c5));
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 20, 0, keccak256(h), idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.HeaderCommitteeMismatch.selector, hashOf(c4), hashOf(c6)));
        lc.rotateCommittee(h, 0, lcc(c4), sigs, lcc(c5));
    }

    function test_rotate_rejectsWrongChain() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        bytes memory h = header(CHAIN + 1, 20, hashOf(c4), hashOf(c5));
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 20, 0, keccak256(h), idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.WrongChainId.selector, CHAIN, CHAIN + 1));
        lc.rotateCommittee(h, 0, lcc(c4), sigs, lcc(c5));
    }

    function test_rotate_rejectsBadLengthAndVersion() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        bytes memory h = header(CHAIN, 20, hashOf(c4), hashOf(c5));
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 20, 0, keccak256(h), idx(0, 1, 2));
        bytes memory longer = abi.encodePacked(h, uint8(0));
        vm.expectRevert(abi.encodeWithSelector(LightClient.BadHeaderLength.selector, 298));
        lc.rotateCommittee(longer, 0, lcc(c4), sigs, lcc(c5));
        h[0] = 0x01;
        vm.expectRevert(abi.encodeWithSelector(LightClient.BadHeaderVersion.selector, 1));
        lc.rotateCommittee(h, 0, lcc(c4), sigs, lcc(c5));
    }

    function test_rotate_rejectsHeaderBehindLatest() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        submit(c4, 30, keccak256("30"), idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.RotationBehindLatest.selector, 20, 30));
        rotate(c4, c5, 20, idx(0, 1, 2));
    }

    function test_rotate_rejectsConflictWithStoredBlock() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        submit(c4, 20, keccak256("other"), idx(0, 1, 2));
        bytes memory h = header(CHAIN, 20, hashOf(c4), hashOf(c5));
        vm.expectRevert(
            abi.encodeWithSelector(LightClient.ConflictingBlock.selector, 20, keccak256("other"), keccak256(h))
        );
        rotate(c4, c5, 20, idx(0, 1, 2));
    }

    function test_rotate_rejectsSignaturesOverOtherHeader() public {
        Committee memory c5 = makeCommittee(5, 50, 3);
        bytes memory h = header(CHAIN, 20, hashOf(c4), hashOf(c5));
        LightClient.SignerSig[] memory sigs = precommits(c4, CHAIN, 20, 0, keccak256("not the header"), idx(0, 1, 2));
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, 0));
        lc.rotateCommittee(h, 0, lcc(c4), sigs, lcc(c5));
    }
}
