// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Base} from "./utils/Base.sol";
import {StakeTable} from "../src/StakeTable.sol";
import {OrdoSig} from "../src/OrdoSig.sol";

/// @notice A staker or reporter contract that tries to re-enter the stake table when paid.
contract Reenterer {
    StakeTable internal immutable table;
    bytes internal reentry;
    bytes public reentryError;

    constructor(StakeTable table_) {
        table = table_;
    }

    function setReentry(bytes memory data) external {
        reentry = data;
    }

    function act(bytes memory data, uint256 value) external {
        (bool ok, bytes memory err) = address(table).call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(err, 32), mload(err))
            }
        }
    }

    receive() external payable {
        if (reentry.length != 0) {
            (bool ok, bytes memory err) = address(table).call(reentry);
            require(!ok, "re-entry succeeded");
            reentryError = err;
        }
    }
}

contract StakeTableTest is Base {
    uint64 internal constant CHAIN = 4242;
    uint256 internal constant MIN_STAKE = 32 ether;
    uint256 internal constant MIN_DELEGATION = 1 ether;
    uint64 internal constant EXIT_DELAY = 7 days;
    uint16 internal constant SLASH_BPS = 1000; // 10%
    uint16 internal constant REWARD_BPS = 5000; // half of the cut

    StakeTable internal table;
    uint256 internal valKey;
    address internal validator;
    address internal operator = address(0x0A0A);
    address internal delegator = address(0xDe1);
    address internal reporter = address(0x5e7);

    event Parameters(
        uint64 ordoChainId, uint256 minStake, uint256 minDelegation, uint64 exitDelay, uint16 slashBps, uint16 rewardBps
    );
    event ValidatorRegistered(
        address indexed validator, address indexed operator, string p2pAddress, string apiAddress
    );
    event AddressesUpdated(address indexed validator, string p2pAddress, string apiAddress);
    event Staked(address indexed validator, address indexed staker, uint256 amount, uint256 shares);
    event UnstakeRequested(
        uint256 indexed id, address indexed validator, address indexed staker, uint256 shares, uint64 withdrawableAt
    );
    event Withdrawn(uint256 indexed id, address indexed validator, address indexed staker, uint256 amount);
    event Slashed(
        address indexed validator,
        address indexed reporter,
        uint256 amount,
        uint256 reward,
        uint64 height,
        uint32 round,
        uint8 voteType
    );
    event Jailed(address indexed validator);
    event StakeUpdated(address indexed validator, uint256 activeStake, uint256 selfStake);

    function setUp() public {
        vm.warp(1_000_000);
        table = new StakeTable(CHAIN, MIN_STAKE, MIN_DELEGATION, EXIT_DELAY, SLASH_BPS, REWARD_BPS);
        valKey = keyFrom(1);
        validator = vm.addr(valKey);
        vm.deal(operator, 1000 ether);
        vm.deal(delegator, 1000 ether);
    }

    // ------------------------------------------------------------------ helpers

    function proofFor(uint256 key, address registrant) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = signLowS(key, table.possessionDigest(registrant));
        return abi.encodePacked(r, s, v);
    }

    function registerDefault() internal {
        bytes memory proof = proofFor(valKey, operator);
        vm.prank(operator);
        table.register{value: MIN_STAKE}(validator, proof, "/ip4/10.0.0.1/tcp/9000", "http://10.0.0.1:8080");
    }

    function vote(uint256 key, uint64 height, uint32 round, uint8 voteType, bytes32 blockHash)
        internal
        pure
        returns (StakeTable.SignedVote memory sv)
    {
        (uint8 v, bytes32 r, bytes32 s) = signLowS(key, OrdoSig.voteDigest(CHAIN, height, round, voteType, blockHash));
        sv = StakeTable.SignedVote({
            height: height, round: round, voteType: voteType, blockHash: blockHash, v: v, r: r, s: s
        });
    }

    function equivocation(uint256 key)
        internal
        pure
        returns (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b)
    {
        a = vote(key, 10, 1, OrdoSig.PRECOMMIT, keccak256("a"));
        b = vote(key, 10, 1, OrdoSig.PRECOMMIT, keccak256("b"));
    }

    // ------------------------------------------------------------------ constructor

    function test_constructor_emitsParameters() public {
        vm.expectEmit(false, false, false, true);
        emit Parameters(CHAIN, MIN_STAKE, MIN_DELEGATION, EXIT_DELAY, SLASH_BPS, REWARD_BPS);
        new StakeTable(CHAIN, MIN_STAKE, MIN_DELEGATION, EXIT_DELAY, SLASH_BPS, REWARD_BPS);
    }

    function test_constructor_rejectsBadParameters() public {
        vm.expectRevert(abi.encodeWithSelector(StakeTable.InvalidParameter.selector, "minStake"));
        new StakeTable(CHAIN, 0, MIN_DELEGATION, EXIT_DELAY, SLASH_BPS, REWARD_BPS);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.InvalidParameter.selector, "minDelegation"));
        new StakeTable(CHAIN, MIN_STAKE, 0, EXIT_DELAY, SLASH_BPS, REWARD_BPS);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.InvalidParameter.selector, "slashBps"));
        new StakeTable(CHAIN, MIN_STAKE, MIN_DELEGATION, EXIT_DELAY, 0, REWARD_BPS);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.InvalidParameter.selector, "slashBps"));
        new StakeTable(CHAIN, MIN_STAKE, MIN_DELEGATION, EXIT_DELAY, 10_001, REWARD_BPS);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.InvalidParameter.selector, "rewardBps"));
        new StakeTable(CHAIN, MIN_STAKE, MIN_DELEGATION, EXIT_DELAY, SLASH_BPS, 10_001);
    }

    // ------------------------------------------------------------------ register

    function test_register_recordsValidator() public {
        vm.expectEmit(true, true, false, true, address(table));
        emit ValidatorRegistered(validator, operator, "/ip4/10.0.0.1/tcp/9000", "http://10.0.0.1:8080");
        vm.expectEmit(true, true, false, true, address(table));
        emit Staked(validator, operator, MIN_STAKE, MIN_STAKE);
        vm.expectEmit(true, false, false, true, address(table));
        emit StakeUpdated(validator, MIN_STAKE, MIN_STAKE);
        registerDefault();

        StakeTable.Validator memory v = table.getValidator(validator);
        assertEq(v.operator, operator, "operator");
        assertEq(v.stake, MIN_STAKE, "stake");
        assertTrue(!v.jailed, "not jailed");
        assertEq(keccak256(bytes(v.p2pAddress)), keccak256("/ip4/10.0.0.1/tcp/9000"), "p2p");
        assertEq(keccak256(bytes(v.apiAddress)), keccak256("http://10.0.0.1:8080"), "api");
        assertEq(table.validatorCount(), 1, "count");
        assertEq(table.validatorAt(0), validator, "list");
        assertEq(table.selfStake(validator), MIN_STAKE, "self stake");
        assertEq(table.activeStake(validator), MIN_STAKE, "active stake");
        assertTrue(table.isEligible(validator), "eligible");
        assertEq(address(table).balance, MIN_STAKE, "balance");
    }

    function test_register_possessionDigestLayout() public view {
        bytes32 expected = keccak256(
            bytes.concat("ordo/register/v1", bytes32(block.chainid), bytes20(address(table)), bytes20(operator))
        );
        assertEq(table.possessionDigest(operator), expected, "digest layout");
    }

    function test_register_rejectsTwice() public {
        registerDefault();
        bytes memory proof = proofFor(valKey, delegator);
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.AlreadyRegistered.selector, validator));
        table.register{value: MIN_STAKE}(validator, proof, "p", "a");
    }

    function test_register_rejectsBelowMinStake() public {
        bytes memory proof = proofFor(valKey, operator);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.BelowMinimum.selector, MIN_STAKE - 1, MIN_STAKE));
        table.register{value: MIN_STAKE - 1}(validator, proof, "p", "a");
    }

    function test_register_rejectsProofByOtherKey() public {
        bytes memory proof = proofFor(keyFrom(2), operator);
        vm.prank(operator);
        vm.expectRevert(StakeTable.InvalidProofOfPossession.selector);
        table.register{value: MIN_STAKE}(validator, proof, "p", "a");
    }

    function test_register_rejectsProofForOtherRegistrant() public {
        // A proof made out to `operator` cannot be replayed by someone else.
        bytes memory proof = proofFor(valKey, operator);
        vm.prank(delegator);
        vm.expectRevert(StakeTable.InvalidProofOfPossession.selector);
        table.register{value: MIN_STAKE}(validator, proof, "p", "a");
    }

    function test_register_rejectsProofForOtherContractOrChain() public {
        StakeTable other = new StakeTable(CHAIN, MIN_STAKE, MIN_DELEGATION, EXIT_DELAY, SLASH_BPS, REWARD_BPS);
        (uint8 v, bytes32 r, bytes32 s) = signLowS(valKey, other.possessionDigest(operator));
        vm.prank(operator);
        vm.expectRevert(StakeTable.InvalidProofOfPossession.selector);
        table.register{value: MIN_STAKE}(validator, abi.encodePacked(r, s, v), "p", "a");

        bytes memory proof = proofFor(valKey, operator);
        vm.chainId(block.chainid + 1);
        vm.prank(operator);
        vm.expectRevert(StakeTable.InvalidProofOfPossession.selector);
        table.register{value: MIN_STAKE}(validator, proof, "p", "a");
    }

    function test_register_rejectsMalformedProof() public {
        bytes memory proof = proofFor(valKey, operator);
        bytes memory short = new bytes(64);
        for (uint256 i; i < 64; ++i) {
            short[i] = proof[i];
        }
        vm.startPrank(operator);
        vm.expectRevert(StakeTable.InvalidProofOfPossession.selector);
        table.register{value: MIN_STAKE}(validator, short, "p", "a");
        // High-s twin of a valid signature.
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(proof, 32))
            s := mload(add(proof, 64))
            v := byte(0, mload(add(proof, 96)))
        }
        bytes memory highS = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(StakeTable.InvalidProofOfPossession.selector);
        table.register{value: MIN_STAKE}(validator, highS, "p", "a");
        // Zero address can never be proven.
        vm.expectRevert(StakeTable.InvalidProofOfPossession.selector);
        table.register{value: MIN_STAKE}(address(0), new bytes(65), "p", "a");
        vm.stopPrank();
    }

    function test_register_rejectsBadNodeAddresses() public {
        bytes memory proof = proofFor(valKey, operator);
        bytes memory long = new bytes(257);
        vm.startPrank(operator);
        vm.expectRevert(StakeTable.InvalidNodeAddress.selector);
        table.register{value: MIN_STAKE}(validator, proof, "", "a");
        vm.expectRevert(StakeTable.InvalidNodeAddress.selector);
        table.register{value: MIN_STAKE}(validator, proof, "p", "");
        vm.expectRevert(StakeTable.InvalidNodeAddress.selector);
        table.register{value: MIN_STAKE}(validator, proof, string(long), "a");
        vm.stopPrank();
    }

    function test_updateAddresses() public {
        registerDefault();
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.NotOperator.selector, delegator));
        table.updateAddresses(validator, "x", "y");
        vm.expectRevert(abi.encodeWithSelector(StakeTable.UnknownValidator.selector, address(7)));
        table.updateAddresses(address(7), "x", "y");
        vm.expectEmit(true, false, false, true, address(table));
        emit AddressesUpdated(validator, "/dns/n1/tcp/1", "https://n1");
        vm.prank(operator);
        table.updateAddresses(validator, "/dns/n1/tcp/1", "https://n1");
        assertEq(keccak256(bytes(table.getValidator(validator).apiAddress)), keccak256("https://n1"), "api");
    }

    // ------------------------------------------------------------------ stake / delegate

    function test_delegate_addsStake() public {
        registerDefault();
        vm.expectEmit(true, true, false, true, address(table));
        emit Staked(validator, delegator, 8 ether, 8 ether);
        vm.expectEmit(true, false, false, true, address(table));
        emit StakeUpdated(validator, MIN_STAKE + 8 ether, MIN_STAKE);
        vm.prank(delegator);
        table.stake{value: 8 ether}(validator);
        assertEq(table.stakeOf(validator, delegator), 8 ether, "delegation");
        assertEq(table.activeStake(validator), MIN_STAKE + 8 ether, "active");
        assertEq(table.selfStake(validator), MIN_STAKE, "self");
    }

    function test_operatorTopUp() public {
        registerDefault();
        vm.prank(operator);
        table.stake{value: 1 wei}(validator);
        assertEq(table.selfStake(validator), MIN_STAKE + 1, "self");
    }

    function test_delegate_rejectsBelowMinimum() public {
        registerDefault();
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.BelowMinimum.selector, MIN_DELEGATION - 1, MIN_DELEGATION));
        table.stake{value: MIN_DELEGATION - 1}(validator);
    }

    function test_delegate_rejectsZeroAndUnknown() public {
        registerDefault();
        vm.prank(delegator);
        vm.expectRevert(StakeTable.ZeroAmount.selector);
        table.stake(validator);
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.UnknownValidator.selector, address(9)));
        table.stake{value: 1 ether}(address(9));
    }

    // ------------------------------------------------------------------ unstake / withdraw

    function test_unstake_exitQueueAndDelay() public {
        registerDefault();
        vm.prank(delegator);
        table.stake{value: 8 ether}(validator);

        uint64 ready = uint64(block.timestamp) + EXIT_DELAY;
        vm.expectEmit(true, true, true, true, address(table));
        emit UnstakeRequested(0, validator, delegator, 3 ether, ready);
        vm.expectEmit(true, false, false, true, address(table));
        emit StakeUpdated(validator, MIN_STAKE + 5 ether, MIN_STAKE);
        vm.prank(delegator);
        uint256 id = table.requestUnstake(validator, 3 ether);
        assertEq(id, 0, "first id");
        assertEq(table.activeStake(validator), MIN_STAKE + 5 ether, "active drops at once");
        assertEq(table.getValidator(validator).stake, MIN_STAKE + 8 ether, "still held");
        StakeTable.UnstakeRequest memory req = table.unstakeRequest(id);
        assertEq(req.staker, delegator, "staker");
        assertEq(req.shares, 3 ether, "shares");
        assertEq(req.withdrawableAt, ready, "ready at");

        vm.warp(ready - 1);
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.ExitDelayNotPassed.selector, ready));
        table.withdraw(id);

        vm.warp(ready);
        uint256 before = delegator.balance;
        vm.expectEmit(true, true, true, true, address(table));
        emit Withdrawn(id, validator, delegator, 3 ether);
        vm.prank(delegator);
        table.withdraw(id);
        assertEq(delegator.balance, before + 3 ether, "paid");
        assertEq(table.getValidator(validator).stake, MIN_STAKE + 5 ether, "stake left");

        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.UnknownRequest.selector, id));
        table.withdraw(id);
    }

    function test_withdraw_onlyStaker() public {
        registerDefault();
        vm.prank(operator);
        uint256 id = table.requestUnstake(validator, MIN_STAKE);
        vm.warp(block.timestamp + EXIT_DELAY);
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.NotStaker.selector, delegator));
        table.withdraw(id);
    }

    function test_unstake_operatorFullExitMakesIneligible() public {
        registerDefault();
        vm.prank(operator);
        table.requestUnstake(validator, MIN_STAKE);
        assertTrue(!table.isEligible(validator), "no self stake");
        assertEq(table.activeStake(validator), 0, "active");
    }

    function test_unstake_rejectsPartialBelowMinimum() public {
        registerDefault();
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.BelowMinimum.selector, MIN_STAKE - 1 ether, MIN_STAKE));
        table.requestUnstake(validator, 1 ether);

        vm.prank(delegator);
        table.stake{value: 1.5 ether}(validator);
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.BelowMinimum.selector, 0.5 ether, MIN_DELEGATION));
        table.requestUnstake(validator, 1 ether);
    }

    function test_unstake_rejectsZeroTooManyUnknown() public {
        registerDefault();
        vm.startPrank(operator);
        vm.expectRevert(StakeTable.ZeroAmount.selector);
        table.requestUnstake(validator, 0);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.InsufficientShares.selector, MIN_STAKE, MIN_STAKE + 1));
        table.requestUnstake(validator, MIN_STAKE + 1);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.UnknownValidator.selector, address(3)));
        table.requestUnstake(address(3), 1);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ slash

    function test_slash_cutsPaysAndJails() public {
        registerDefault();
        vm.prank(delegator);
        table.stake{value: 8 ether}(validator);
        (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b) = equivocation(valKey);

        uint256 total = MIN_STAKE + 8 ether; // 40 ether
        uint256 cut = total / 10; // 4 ether
        uint256 reward = cut / 2; // 2 ether
        vm.expectEmit(true, true, false, true, address(table));
        emit Slashed(validator, reporter, cut, reward, 10, 1, OrdoSig.PRECOMMIT);
        vm.expectEmit(true, false, false, false, address(table));
        emit Jailed(validator);
        vm.expectEmit(true, false, false, true, address(table));
        emit StakeUpdated(validator, total - cut, MIN_STAKE * 9 / 10);
        vm.prank(reporter);
        table.slash(a, b);

        assertEq(reporter.balance, reward, "reporter paid");
        assertEq(table.totalBurned(), cut - reward, "burned");
        assertTrue(table.getValidator(validator).jailed, "jailed");
        assertTrue(!table.isEligible(validator), "not eligible");
        assertEq(table.stakeOf(validator, delegator), 7.2 ether, "delegator cut pro rata");
        assertEq(table.selfStake(validator), 28.8 ether, "operator cut pro rata");
        assertEq(address(table).balance, total - reward, "contract keeps the rest");
    }

    function test_slash_sameEvidenceTwicePaysNothing() public {
        registerDefault();
        (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b) = equivocation(valKey);
        vm.prank(reporter);
        table.slash(a, b);
        uint256 paid = reporter.balance;
        uint256 stakeAfter = table.getValidator(validator).stake;

        vm.prank(reporter);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.AlreadySlashed.selector, validator));
        table.slash(a, b);
        // Swapped, or another conflicting pair from the same validator, pays nothing either.
        vm.prank(reporter);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.AlreadySlashed.selector, validator));
        table.slash(b, a);
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.AlreadySlashed.selector, validator));
        table.slash(
            vote(valKey, 11, 0, OrdoSig.PREVOTE, bytes32(0)), vote(valKey, 11, 0, OrdoSig.PREVOTE, keccak256("x"))
        );
        assertEq(reporter.balance, paid, "no second reward");
        assertEq(table.getValidator(validator).stake, stakeAfter, "no second cut");
    }

    function test_slash_coversExitQueue() public {
        registerDefault();
        vm.prank(delegator);
        table.stake{value: 8 ether}(validator);
        vm.prank(delegator);
        uint256 id = table.requestUnstake(validator, 8 ether);
        (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b) = equivocation(valKey);
        vm.prank(reporter);
        table.slash(a, b);
        vm.warp(block.timestamp + EXIT_DELAY);
        uint256 before = delegator.balance;
        vm.prank(delegator);
        table.withdraw(id);
        assertEq(delegator.balance - before, 7.2 ether, "exiting stake was slashed too");
    }

    function test_slash_jailedRejectsNewStakeButAllowsExit() public {
        registerDefault();
        (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b) = equivocation(valKey);
        vm.prank(reporter);
        table.slash(a, b);
        vm.prank(delegator);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.ValidatorJailed.selector, validator));
        table.stake{value: 1 ether}(validator);
        vm.prank(operator);
        uint256 id = table.requestUnstake(validator, MIN_STAKE);
        vm.warp(block.timestamp + EXIT_DELAY);
        uint256 before = operator.balance;
        vm.prank(operator);
        table.withdraw(id);
        assertEq(operator.balance - before, 28.8 ether, "the rest comes back");
    }

    function test_slash_prevoteAndNilConflict() public {
        registerDefault();
        StakeTable.SignedVote memory a = vote(valKey, 3, 0, OrdoSig.PREVOTE, bytes32(0));
        StakeTable.SignedVote memory b = vote(valKey, 3, 0, OrdoSig.PREVOTE, keccak256("b"));
        vm.prank(reporter);
        table.slash(a, b);
        assertTrue(table.getValidator(validator).jailed, "jailed");
    }

    function test_slash_rejectsNonConflicting() public {
        registerDefault();
        StakeTable.SignedVote memory a = vote(valKey, 10, 1, OrdoSig.PRECOMMIT, keccak256("a"));
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(a, a);
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(a, vote(valKey, 11, 1, OrdoSig.PRECOMMIT, keccak256("b")));
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(a, vote(valKey, 10, 2, OrdoSig.PRECOMMIT, keccak256("b")));
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(a, vote(valKey, 10, 1, OrdoSig.PREVOTE, keccak256("b")));
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(vote(valKey, 10, 1, 3, keccak256("a")), vote(valKey, 10, 1, 3, keccak256("b")));
        vm.expectRevert(StakeTable.NotConflicting.selector);
        table.slash(vote(valKey, 10, 1, 0, keccak256("a")), vote(valKey, 10, 1, 0, keccak256("b")));
    }

    function test_slash_rejectsForgedEvidence() public {
        registerDefault();
        StakeTable.SignedVote memory a = vote(valKey, 10, 1, OrdoSig.PRECOMMIT, keccak256("a"));
        // Second vote signed by another key.
        StakeTable.SignedVote memory b = vote(keyFrom(2), 10, 1, OrdoSig.PRECOMMIT, keccak256("b"));
        vm.expectRevert(StakeTable.InvalidEvidenceSignature.selector);
        table.slash(a, b);
        // Signature of `a` pasted onto a different block hash.
        StakeTable.SignedVote memory pasted = vote(valKey, 10, 1, OrdoSig.PRECOMMIT, keccak256("a"));
        pasted.blockHash = keccak256("b");
        vm.expectRevert(StakeTable.InvalidEvidenceSignature.selector);
        table.slash(a, pasted);
        // High-s twin.
        StakeTable.SignedVote memory c = vote(valKey, 10, 1, OrdoSig.PRECOMMIT, keccak256("c"));
        c.s = bytes32(SECP256K1_N - uint256(c.s));
        c.v = c.v == 27 ? 28 : 27;
        vm.expectRevert(StakeTable.InvalidEvidenceSignature.selector);
        table.slash(a, c);
        // Garbage signatures on both sides.
        StakeTable.SignedVote memory g1 = vote(valKey, 10, 1, OrdoSig.PRECOMMIT, keccak256("a"));
        StakeTable.SignedVote memory g2 = vote(valKey, 10, 1, OrdoSig.PRECOMMIT, keccak256("c"));
        (g1.r, g1.s, g1.v) = (bytes32(0), bytes32(0), 27);
        (g2.r, g2.s, g2.v) = (bytes32(0), bytes32(0), 27);
        vm.expectRevert(StakeTable.InvalidEvidenceSignature.selector);
        table.slash(g1, g2);
    }

    function test_slash_rejectsOtherChainVotes() public {
        registerDefault();
        // Conflicting votes for another Ordo chain do not recover to the validator here.
        (uint8 v1, bytes32 r1, bytes32 s1) =
            signLowS(valKey, OrdoSig.voteDigest(CHAIN + 1, 10, 1, OrdoSig.PRECOMMIT, keccak256("a")));
        (uint8 v2, bytes32 r2, bytes32 s2) =
            signLowS(valKey, OrdoSig.voteDigest(CHAIN + 1, 10, 1, OrdoSig.PRECOMMIT, keccak256("b")));
        StakeTable.SignedVote memory a = StakeTable.SignedVote(10, 1, OrdoSig.PRECOMMIT, keccak256("a"), v1, r1, s1);
        StakeTable.SignedVote memory b = StakeTable.SignedVote(10, 1, OrdoSig.PRECOMMIT, keccak256("b"), v2, r2, s2);
        vm.expectRevert(StakeTable.InvalidEvidenceSignature.selector);
        table.slash(a, b);
    }

    function test_slash_rejectsUnknownValidator() public {
        uint256 stranger = keyFrom(77);
        (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b) = equivocation(stranger);
        vm.expectRevert(abi.encodeWithSelector(StakeTable.UnknownValidator.selector, vm.addr(stranger)));
        table.slash(a, b);
    }

    // ------------------------------------------------------------------ re-entrancy

    function test_withdraw_reentryBlocked() public {
        registerDefault();
        Reenterer attacker = new Reenterer(table);
        vm.deal(address(attacker), 10 ether);
        attacker.act(abi.encodeCall(StakeTable.stake, (validator)), 2 ether);
        attacker.act(abi.encodeCall(StakeTable.requestUnstake, (validator, 1 ether)), 0);
        vm.warp(block.timestamp + EXIT_DELAY);
        attacker.setReentry(abi.encodeCall(StakeTable.withdraw, (0)));
        attacker.act(abi.encodeCall(StakeTable.withdraw, (0)), 0);
        assertEq(
            keccak256(attacker.reentryError()),
            keccak256(abi.encodeWithSelector(StakeTable.Reentrancy.selector)),
            "guarded"
        );
        assertEq(address(attacker).balance, 9 ether, "paid once");
    }

    function test_slash_reentryBlocked() public {
        registerDefault();
        Reenterer attacker = new Reenterer(table);
        (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b) = equivocation(valKey);
        attacker.setReentry(abi.encodeCall(StakeTable.slash, (b, a)));
        attacker.act(abi.encodeCall(StakeTable.slash, (a, b)), 0);
        assertEq(
            keccak256(attacker.reentryError()),
            keccak256(abi.encodeWithSelector(StakeTable.Reentrancy.selector)),
            "guarded"
        );
        assertEq(address(attacker).balance, 1.6 ether, "rewarded once");
    }

    function test_slash_rejectingReporterReverts() public {
        registerDefault();
        (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b) = equivocation(valKey);
        // This test contract has no receive function: the reward cannot be paid, nothing changes.
        vm.expectRevert(StakeTable.TransferFailed.selector);
        table.slash(a, b);
        assertTrue(!table.getValidator(validator).jailed, "rolled back");
    }

    // ------------------------------------------------------------------ fuzz

    /// Deposits, a slash and full exits conserve ether: what stakers get back plus the reward
    /// plus the burned part equals what went in, up to rounding dust that stays in the contract.
    function testFuzz_accountingConserved(uint96 selfExtra, uint96 delegated, bool doSlash) public {
        uint256 selfAmount = MIN_STAKE + bound(selfExtra, 0, 500 ether);
        uint256 delegation = bound(delegated, MIN_DELEGATION, 400 ether);
        bytes memory proof = proofFor(valKey, operator);
        vm.prank(operator);
        table.register{value: selfAmount}(validator, proof, "p", "a");
        vm.prank(delegator);
        table.stake{value: delegation}(validator);

        uint256 reward;
        if (doSlash) {
            (StakeTable.SignedVote memory a, StakeTable.SignedVote memory b) = equivocation(valKey);
            vm.prank(reporter);
            table.slash(a, b);
            reward = reporter.balance;
        }
        uint256 opShares = table.sharesOf(validator, operator);
        uint256 delShares = table.sharesOf(validator, delegator);
        vm.prank(operator);
        uint256 id1 = table.requestUnstake(validator, opShares);
        vm.prank(delegator);
        uint256 id2 = table.requestUnstake(validator, delShares);
        vm.warp(block.timestamp + EXIT_DELAY);
        uint256 opBefore = operator.balance;
        uint256 delBefore = delegator.balance;
        vm.prank(operator);
        table.withdraw(id1);
        vm.prank(delegator);
        table.withdraw(id2);
        uint256 back = (operator.balance - opBefore) + (delegator.balance - delBefore);

        uint256 dust = address(table).balance - table.totalBurned();
        assertEq(back + reward + table.totalBurned() + dust, selfAmount + delegation, "conservation");
        assertLe(dust, 2, "rounding dust");
        if (!doSlash) assertEq(back, selfAmount + delegation, "no loss without a slash");
        // Each staker loses the same fraction (within a wei of rounding).
        uint256 expectedDel = doSlash ? delegation - delegation * SLASH_BPS / 10_000 : delegation;
        uint256 gotDel = delegator.balance - delBefore;
        assertLe(expectedDel > gotDel ? expectedDel - gotDel : gotDel - expectedDel, 1, "pro rata");
    }

    /// Any signature other than the validator's own, over any vote, never slashes it.
    function testFuzz_slash_randomSignatureRejected(bytes32 r, bytes32 s, uint8 v) public {
        registerDefault();
        StakeTable.SignedVote memory a = vote(valKey, 10, 1, OrdoSig.PRECOMMIT, keccak256("a"));
        StakeTable.SignedVote memory b = vote(valKey, 10, 1, OrdoSig.PRECOMMIT, keccak256("b"));
        vm.assume(r != b.r || s != b.s || v != b.v);
        (b.r, b.s, b.v) = (r, s, v);
        vm.expectRevert(StakeTable.InvalidEvidenceSignature.selector);
        table.slash(a, b);
    }
}
