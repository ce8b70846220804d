// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Base} from "./utils/Base.sol";
import {LightClient} from "../src/LightClient.sol";
import {StakeTable} from "../src/StakeTable.sol";
import {OrdoSig} from "../src/OrdoSig.sol";

/// @notice Evidence, certificates and headers produced by the Rust side (`ordo-types`), read from
///         `test/fixtures/*.json`. The Rust test `cargo test -p ordo-l1 --test it fixtures`
///         regenerates them and fails when the committed files differ, so these tests pin that
///         both sides sign, hash and encode exactly the same bytes.
contract FixturesTest is Base {
    // ------------------------------------------------------------------ helpers

    function load(string memory name) internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/", name));
    }

    /// Splits a FORMATS.md signature `r || s || v`.
    function split(bytes memory sig) internal pure returns (uint8 v, bytes32 r, bytes32 s) {
        require(sig.length == 65, "signature length");
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
    }

    struct Cert {
        uint64 chainId;
        uint64 height;
        uint32 round;
        bytes32 blockHash;
        LightClient.Committee committee;
        LightClient.SignerSig[] sigs;
    }

    function readCert(string memory json) internal pure returns (Cert memory c) {
        c.chainId = uint64(vm.parseJsonUint(json, ".chainId"));
        c.height = uint64(vm.parseJsonUint(json, ".height"));
        c.round = uint32(vm.parseJsonUint(json, ".round"));
        c.blockHash = vm.parseJsonBytes32(json, ".blockHash");
        c.committee = readCommittee(json, ".members", ".powers");
        uint256[] memory indices = vm.parseJsonUintArray(json, ".signerIndices");
        bytes[] memory signatures = vm.parseJsonBytesArray(json, ".signatures");
        require(indices.length == signatures.length, "fixture shape");
        c.sigs = new LightClient.SignerSig[](indices.length);
        for (uint256 i; i < indices.length; ++i) {
            (uint8 v, bytes32 r, bytes32 s) = split(signatures[i]);
            c.sigs[i] = LightClient.SignerSig({index: uint16(indices[i]), v: v, r: r, s: s});
        }
    }

    function readCommittee(string memory json, string memory membersKey, string memory powersKey)
        internal
        pure
        returns (LightClient.Committee memory c)
    {
        c.members = vm.parseJsonAddressArray(json, membersKey);
        uint256[] memory powers = vm.parseJsonUintArray(json, powersKey);
        c.powers = new uint64[](powers.length);
        for (uint256 i; i < powers.length; ++i) {
            c.powers[i] = uint64(powers[i]);
        }
    }

    function deployFor(Cert memory c) internal returns (LightClient) {
        return new LightClient(c.chainId, 0, c.committee.members, c.committee.powers, 100);
    }

    function readVote(string memory json, string memory key) internal pure returns (StakeTable.SignedVote memory v) {
        v.height = uint64(vm.parseJsonUint(json, string.concat(key, ".height")));
        v.round = uint32(vm.parseJsonUint(json, string.concat(key, ".round")));
        v.voteType = uint8(vm.parseJsonUint(json, string.concat(key, ".voteType")));
        v.blockHash = vm.parseJsonBytes32(json, string.concat(key, ".blockHash"));
        (v.v, v.r, v.s) = split(vm.parseJsonBytes(json, string.concat(key, ".signature")));
    }

    // ------------------------------------------------------------------ certificate

    function test_certificate_digestAndCommitteeHashAgree() public {
        string memory json = load("certificate.json");
        Cert memory c = readCert(json);
        LightClient lc = deployFor(c);
        (bytes32 h,) = lc.hashCommittee(c.committee.members, c.committee.powers);
        assertEq(h, vm.parseJsonBytes32(json, ".validatorsHash"), "validators_hash");
        assertEq(lc.committeeHash(), h, "stored commitment");
        assertEq(
            OrdoSig.voteDigest(c.chainId, c.height, c.round, OrdoSig.PRECOMMIT, c.blockHash),
            vm.parseJsonBytes32(json, ".digest"),
            "precommit digest"
        );
    }

    function test_certificate_fromRustVerifiesOnChain() public {
        Cert memory c = readCert(load("certificate.json"));
        LightClient lc = deployFor(c);
        lc.submitBlock(c.height, c.round, c.blockHash, c.committee, c.sigs);
        assertEq(lc.blockHashAt(c.height), c.blockHash, "stored");
        assertEq(lc.latestHeight(), c.height, "latest");
    }

    function test_certificate_oneShortOfTwoThirdsRefused() public {
        Cert memory c = readCert(load("certificate.json"));
        LightClient lc = deployFor(c);
        LightClient.SignerSig[] memory short = new LightClient.SignerSig[](c.sigs.length - 1);
        uint256 signed;
        for (uint256 i; i < short.length; ++i) {
            short[i] = c.sigs[i];
            signed += c.committee.powers[c.sigs[i].index];
        }
        vm.expectRevert(abi.encodeWithSelector(LightClient.InsufficientVotingPower.selector, signed, 40));
        lc.submitBlock(c.height, c.round, c.blockHash, c.committee, short);
    }

    function test_certificate_outsiderDoesNotCount() public {
        string memory json = load("certificate.json");
        Cert memory c = readCert(json);
        LightClient lc = deployFor(c);
        (uint8 v, bytes32 r, bytes32 s) = split(vm.parseJsonBytes(json, ".outsiderSignature"));
        // The outsider's signature verifies for the outsider's own address...
        assertEq(
            ecrecover(vm.parseJsonBytes32(json, ".digest"), v, r, s),
            vm.parseJsonAddress(json, ".outsider"),
            "outsider signed the same precommit"
        );
        // ...but it is not a member: placed at the last signer's position it does not verify.
        uint256 last = c.sigs.length - 1;
        c.sigs[last] = LightClient.SignerSig({index: c.sigs[last].index, v: v, r: r, s: s});
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, last));
        lc.submitBlock(c.height, c.round, c.blockHash, c.committee, c.sigs);
        // Nor at the one member position that did not sign.
        c.sigs[last].index = 3;
        vm.expectRevert(abi.encodeWithSelector(LightClient.InvalidSignature.selector, last));
        lc.submitBlock(c.height, c.round, c.blockHash, c.committee, c.sigs);
    }

    function test_certificate_sameSignerTwiceCountsOnce() public {
        Cert memory c = readCert(load("certificate.json"));
        LightClient lc = deployFor(c);
        // Signers 0 and 1 hold 20 of 40; repeating signer 1 would make 30 if it counted twice.
        LightClient.SignerSig[] memory twice = new LightClient.SignerSig[](3);
        (twice[0], twice[1], twice[2]) = (c.sigs[0], c.sigs[1], c.sigs[1]);
        vm.expectRevert(abi.encodeWithSelector(LightClient.SignersNotAscending.selector, 2));
        lc.submitBlock(c.height, c.round, c.blockHash, c.committee, twice);
        assertEq(lc.blockHashAt(c.height), bytes32(0), "not stored");
    }

    // ------------------------------------------------------------------ rotation

    function test_rotation_headerFromRustRotatesCommittee() public {
        string memory json = load("rotation.json");
        Cert memory c = readCert(json);
        bytes memory header = vm.parseJsonBytes(json, ".header");
        LightClient.Committee memory next = readCommittee(json, ".nextMembers", ".nextPowers");
        bytes32 nextHash = vm.parseJsonBytes32(json, ".nextValidatorsHash");
        assertEq(header.length, 297, "header length");
        assertEq(keccak256(header), c.blockHash, "block hash is keccak256 of the header");

        LightClient lc = deployFor(c);
        assertEq(lc.committeeHash(), vm.parseJsonBytes32(json, ".validatorsHash"), "current hash");
        lc.rotateCommittee(header, c.round, c.committee, c.sigs, next);
        assertEq(lc.committeeHash(), nextHash, "next validators_hash from Rust");
        assertEq(lc.totalPower(), vm.parseJsonUint(json, ".nextTotalPower"), "next total power");
        assertEq(lc.epoch(), 1, "epoch");
        assertEq(lc.rotationHeight(), c.height, "rotation height");
        assertEq(lc.blockHashAt(c.height), c.blockHash, "header block stored");
    }

    function test_rotation_wrongNextCommitteeRefused() public {
        string memory json = load("rotation.json");
        Cert memory c = readCert(json);
        bytes memory header = vm.parseJsonBytes(json, ".header");
        LightClient.Committee memory next = readCommittee(json, ".nextMembers", ".nextPowers");
        next.powers[0] += 1;
        LightClient lc = deployFor(c);
        vm.expectRevert();
        lc.rotateCommittee(header, c.round, c.committee, c.sigs, next);
        assertEq(lc.epoch(), 0, "not rotated");
    }

    // ------------------------------------------------------------------ equivocation

    StakeTable internal table;

    function registerFixtureValidator(string memory json) internal returns (address validator) {
        table = new StakeTable(uint64(vm.parseJsonUint(json, ".chainId")), 1 ether, 0.1 ether, 1 days, 1000, 5000);
        uint256 key = uint256(vm.parseJsonBytes32(json, ".secretKey"));
        validator = vm.parseJsonAddress(json, ".validator");
        assertEq(vm.addr(key), validator, "fixture key");
        address operator = address(0x0E0E);
        (uint8 v, bytes32 r, bytes32 s) = signLowS(key, table.possessionDigest(operator));
        vm.deal(operator, 10 ether);
        vm.prank(operator);
        table.register{value: 5 ether}(validator, abi.encodePacked(r, s, v), "/ip4/127.0.0.1/tcp/1", "http://x");
    }

    function test_equivocation_digestsAgree() public view {
        string memory json = load("equivocation.json");
        uint64 chain = uint64(vm.parseJsonUint(json, ".chainId"));
        string[5] memory keys = [".voteA", ".voteB", ".voteOtherHeight", ".votePrevote", ".voteForged"];
        for (uint256 i; i < keys.length; ++i) {
            StakeTable.SignedVote memory v = readVote(json, keys[i]);
            assertEq(
                OrdoSig.voteDigest(chain, v.height, v.round, v.voteType, v.blockHash),
                vm.parseJsonBytes32(json, string.concat(keys[i], ".digest")),
                keys[i]
            );
        }
    }

    function test_equivocation_fromRustSlashes() public {
        string memory json = load("equivocation.json");
        address validator = registerFixtureValidator(json);
        address reporter = address(0x5E7);
        vm.prank(reporter);
        table.slash(readVote(json, ".voteA"), readVote(json, ".voteB"));
        assertTrue(table.getValidator(validator).jailed, "jailed");
        assertEq(reporter.balance, 0.25 ether, "reporter paid half of the 10% cut");
        // The same evidence twice pays nothing.
        vm.prank(reporter);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.AlreadySlashed.selector, validator));
        table.slash(readVote(json, ".voteB"), readVote(json, ".voteA"));
        assertEq(reporter.balance, 0.25 ether, "no second reward");
    }

    function test_equivocation_nonConflictingRefused() public {
        string memory json = load("equivocation.json");
        registerFixtureValidator(json);
        StakeTable.SignedVote memory a = readVote(json, ".voteA");
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(a, readVote(json, ".voteOtherHeight"));
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(a, readVote(json, ".votePrevote"));
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(a, a);
    }

    function test_equivocation_forgedRefused() public {
        string memory json = load("equivocation.json");
        address validator = registerFixtureValidator(json);
        vm.expectRevert(StakeTable.InvalidEvidenceSignature.selector);
        table.slash(readVote(json, ".voteA"), readVote(json, ".voteForged"));
        assertTrue(!table.getValidator(validator).jailed, "not jailed");
    }
}
