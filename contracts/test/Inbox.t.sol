// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Base} from "./utils/Base.sol";
import {Inbox} from "../src/Inbox.sol";

/// @notice Fee recipient that tries to sweep again while being paid.
contract GreedyRecipient {
    Inbox public inbox;
    bytes public reentryError;

    function setInbox(Inbox inbox_) external {
        inbox = inbox_;
    }

    receive() external payable {
        (bool ok, bytes memory err) = address(inbox).call(abi.encodeCall(Inbox.sweepFees, ()));
        require(!ok, "re-entry succeeded");
        reentryError = err;
    }
}

contract InboxTest is Base {
    uint64 internal constant DELAY = 10;
    uint256 internal constant BASE_FEE = 0.01 ether;
    uint64 internal constant FEE_STEP = 4;
    uint32 internal constant MAX_PAYLOAD = 1024;

    Inbox internal inbox;
    address internal recipient = address(0xFEE);
    address internal user = address(0xA11CE);

    event Parameters(
        uint64 inclusionDelay, uint256 baseFee, uint64 feeStep, uint32 maxPayloadBytes, address feeRecipient
    );
    event ForcedInclusion(
        uint64 indexed index,
        uint64 indexed namespace,
        address indexed sender,
        bytes payload,
        uint64 l1Block,
        uint256 fee
    );
    event FeesSwept(address indexed recipient, uint256 amount);

    function setUp() public {
        vm.roll(1000);
        inbox = new Inbox(DELAY, BASE_FEE, FEE_STEP, MAX_PAYLOAD, recipient);
        vm.deal(user, 100 ether);
    }

    function include(uint64 namespace, bytes memory payload) internal returns (uint64) {
        uint256 fee = inbox.currentFee();
        vm.prank(user);
        return inbox.forceInclude{value: fee}(namespace, payload);
    }

    function test_constructor_emitsParameters() public {
        vm.expectEmit(false, false, false, true);
        emit Parameters(DELAY, BASE_FEE, FEE_STEP, MAX_PAYLOAD, recipient);
        new Inbox(DELAY, BASE_FEE, FEE_STEP, MAX_PAYLOAD, recipient);
    }

    function test_constructor_rejectsBadParameters() public {
        vm.expectRevert(abi.encodeWithSelector(Inbox.InvalidParameter.selector, "inclusionDelay"));
        new Inbox(0, BASE_FEE, FEE_STEP, MAX_PAYLOAD, recipient);
        vm.expectRevert(abi.encodeWithSelector(Inbox.InvalidParameter.selector, "feeStep"));
        new Inbox(DELAY, BASE_FEE, 0, MAX_PAYLOAD, recipient);
        vm.expectRevert(abi.encodeWithSelector(Inbox.InvalidParameter.selector, "maxPayloadBytes"));
        new Inbox(DELAY, BASE_FEE, FEE_STEP, 0, recipient);
        vm.expectRevert(abi.encodeWithSelector(Inbox.InvalidParameter.selector, "feeRecipient"));
        new Inbox(DELAY, BASE_FEE, FEE_STEP, MAX_PAYLOAD, address(0));
    }

    function test_forceInclude_queuesItem() public {
        vm.expectEmit(true, true, true, true, address(inbox));
        emit ForcedInclusion(0, 7, user, hex"c0ffee", 1000, BASE_FEE);
        uint64 index = include(7, hex"c0ffee");
        assertEq(index, 0, "index");
        assertEq(inbox.count(), 1, "count");
        Inbox.Item memory it = inbox.item(0);
        assertEq(it.namespace, 7, "namespace");
        assertEq(it.sender, user, "sender");
        assertEq(it.l1Block, 1000, "l1 block");
        assertEq(it.payloadHash, keccak256(hex"c0ffee"), "payload hash");
        assertEq(inbox.deadline(0), 1000 + DELAY, "deadline");
        assertEq(address(inbox).balance, BASE_FEE, "fee held");
    }

    function test_forceInclude_sequentialIndices() public {
        for (uint64 i; i < 5; ++i) {
            vm.roll(1000 + i * 3);
            assertEq(include(i, abi.encodePacked(i)), i, "index");
        }
        assertEq(inbox.count(), 5, "count");
        assertEq(inbox.item(4).namespace, 4, "last");
        assertEq(inbox.deadline(4), 1012 + DELAY, "last deadline");
    }

    function test_forceInclude_acceptsOverpayment() public {
        vm.prank(user);
        inbox.forceInclude{value: 1 ether}(1, hex"01");
        assertEq(address(inbox).balance, 1 ether, "kept");
    }

    function test_forceInclude_rejectsLowFee() public {
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Inbox.FeeTooLow.selector, BASE_FEE - 1, BASE_FEE));
        inbox.forceInclude{value: BASE_FEE - 1}(1, hex"01");
    }

    function test_forceInclude_payloadLimits() public {
        vm.startPrank(user);
        vm.expectRevert(Inbox.EmptyPayload.selector);
        inbox.forceInclude{value: BASE_FEE}(1, "");
        vm.expectRevert(abi.encodeWithSelector(Inbox.PayloadTooLarge.selector, MAX_PAYLOAD + 1, MAX_PAYLOAD));
        inbox.forceInclude{value: BASE_FEE}(1, new bytes(MAX_PAYLOAD + 1));
        inbox.forceInclude{value: BASE_FEE}(1, new bytes(MAX_PAYLOAD));
        vm.stopPrank();
        assertEq(inbox.count(), 1, "max size accepted");
    }

    function test_fee_risesWithQueueAndResets() public {
        assertEq(inbox.currentFee(), BASE_FEE, "empty");
        for (uint256 i; i < FEE_STEP; ++i) {
            include(1, hex"01");
        }
        assertEq(inbox.currentFee(), 2 * BASE_FEE, "one step");
        for (uint256 i; i < FEE_STEP; ++i) {
            include(1, hex"01");
        }
        assertEq(inbox.currentFee(), 3 * BASE_FEE, "two steps");
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(Inbox.FeeTooLow.selector, 2 * BASE_FEE, 3 * BASE_FEE));
        inbox.forceInclude{value: 2 * BASE_FEE}(1, hex"01");

        vm.roll(1000 + DELAY - 1);
        assertEq(inbox.currentFee(), 3 * BASE_FEE, "window still open");
        vm.roll(1000 + DELAY);
        assertEq(inbox.currentFee(), BASE_FEE, "window over");
        include(1, hex"01");
        assertEq(inbox.windowStart(), 1000 + DELAY, "new window");
        assertEq(inbox.windowCount(), 1, "new window count");
    }

    function test_item_unknownIndex() public {
        vm.expectRevert(abi.encodeWithSelector(Inbox.UnknownItem.selector, 0));
        inbox.item(0);
        include(1, hex"01");
        vm.expectRevert(abi.encodeWithSelector(Inbox.UnknownItem.selector, 1));
        inbox.item(1);
        vm.expectRevert(abi.encodeWithSelector(Inbox.UnknownItem.selector, 1));
        inbox.deadline(1);
    }

    function test_sweepFees_paysRecipient() public {
        include(1, hex"01");
        include(2, hex"02");
        vm.expectEmit(true, false, false, true, address(inbox));
        emit FeesSwept(recipient, 2 * BASE_FEE);
        vm.prank(user);
        inbox.sweepFees();
        assertEq(recipient.balance, 2 * BASE_FEE, "recipient paid");
        assertEq(address(inbox).balance, 0, "emptied");
    }

    function test_sweepFees_reentryBlocked() public {
        GreedyRecipient greedy = new GreedyRecipient();
        inbox = new Inbox(DELAY, BASE_FEE, FEE_STEP, MAX_PAYLOAD, address(greedy));
        greedy.setInbox(inbox);
        include(1, hex"01");
        inbox.sweepFees();
        assertEq(
            keccak256(greedy.reentryError()), keccak256(abi.encodeWithSelector(Inbox.Reentrancy.selector)), "guarded"
        );
        assertEq(address(greedy).balance, BASE_FEE, "paid once");
    }

    function test_sweepFees_rejectingRecipientReverts() public {
        inbox = new Inbox(DELAY, BASE_FEE, FEE_STEP, MAX_PAYLOAD, address(this));
        include(1, hex"01");
        vm.expectRevert(Inbox.TransferFailed.selector);
        inbox.sweepFees();
        assertEq(address(inbox).balance, BASE_FEE, "fees stay");
    }

    /// Every accepted item is readable, in order, with the deadline its block implies.
    function testFuzz_forceInclude_roundTrip(uint64 namespace, bytes memory payload, uint32 blockGap, uint256 extra)
        public
    {
        vm.assume(payload.length > 0 && payload.length <= MAX_PAYLOAD);
        include(1, hex"01");
        uint256 blockNumber = 1000 + uint256(blockGap);
        vm.roll(blockNumber);
        uint256 value = inbox.currentFee() + bound(extra, 0, 10 ether);
        vm.expectEmit(true, true, true, true, address(inbox));
        emit ForcedInclusion(1, namespace, user, payload, 1000 + uint64(blockGap), value);
        vm.prank(user);
        uint64 index = inbox.forceInclude{value: value}(namespace, payload);
        assertEq(index, 1, "index");
        Inbox.Item memory it = inbox.item(1);
        assertEq(it.namespace, namespace, "namespace");
        assertEq(it.payloadHash, keccak256(payload), "hash");
        assertEq(inbox.deadline(1), blockNumber + DELAY, "deadline");
    }

    /// The fee is `baseFee * (1 + n / feeStep)` for n items in the current window.
    function testFuzz_fee_rule(uint8 n) public {
        uint256 items = bound(n, 0, 40);
        for (uint256 i; i < items; ++i) {
            include(1, hex"01");
        }
        assertEq(inbox.currentFee(), BASE_FEE * (1 + items / FEE_STEP), "fee");
    }
}
