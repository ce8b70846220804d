// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Inbox
/// @notice Force inclusion: anyone can queue a payload for a rollup namespace on L1, paying an
///         anti-spam fee. Item `i` submitted in L1 block `b` must be in an Ordo block whose L1
///         origin is at or after `b + inclusionDelay` (the deadline); validators refuse to vote
///         for a block that omits a due item.
/// @dev    The fee rises with the recent queue: `fee = baseFee * (1 + windowCount / feeStep)`,
///         where `windowCount` counts the items submitted in the current window of
///         `inclusionDelay` L1 blocks (a window opens with the first item after the previous one
///         ended). Items still inside their delay are the ones the sequencer may not have had to
///         include yet, so this approximates the pending queue without any off-chain input.
///         The payload itself is in the `ForcedInclusion` event; storage keeps its hash.
///         Fees accumulate here and anyone may sweep them to the immutable `feeRecipient`.
///         No owner; all parameters are immutable.
contract Inbox {
    /// @notice A queued item; `payloadHash` is keccak256 of the payload in the event.
    struct Item {
        uint64 namespace;
        uint64 l1Block;
        address sender;
        bytes32 payloadHash;
    }

    /// @notice Delay, in L1 blocks, from submission to the inclusion deadline.
    uint64 public immutable inclusionDelay;
    /// @notice Fee with an empty window, in wei.
    uint256 public immutable baseFee;
    /// @notice The fee grows by `baseFee` for every `feeStep` items in the current window.
    uint64 public immutable feeStep;
    /// @notice Largest accepted payload, in bytes.
    uint32 public immutable maxPayloadBytes;
    /// @notice Where `sweepFees` sends the collected fees.
    address public immutable feeRecipient;

    /// @notice Number of items ever queued (the next item's index).
    uint64 public count;
    /// @notice L1 block at which the current fee window opened.
    uint64 public windowStart;
    /// @notice Items queued in the current fee window.
    uint64 public windowCount;

    mapping(uint64 index => Item) private _items;

    uint256 private transient _locked;

    /// @notice The immutable parameters, emitted once at deployment.
    event Parameters(
        uint64 inclusionDelay, uint256 baseFee, uint64 feeStep, uint32 maxPayloadBytes, address feeRecipient
    );
    /// @notice Item `index` was queued in L1 block `l1Block`; its deadline is
    ///         `l1Block + inclusionDelay`.
    event ForcedInclusion(
        uint64 indexed index,
        uint64 indexed namespace,
        address indexed sender,
        bytes payload,
        uint64 l1Block,
        uint256 fee
    );
    /// @notice Collected fees were sent to `feeRecipient`.
    event FeesSwept(address indexed recipient, uint256 amount);

    /// @notice A parameter is out of range.
    error InvalidParameter(string name);
    /// @notice The value sent is below the current fee.
    error FeeTooLow(uint256 sent, uint256 required);
    /// @notice The payload is empty.
    error EmptyPayload();
    /// @notice The payload exceeds `maxPayloadBytes`.
    error PayloadTooLarge(uint256 size, uint256 max);
    /// @notice No item with this index.
    error UnknownItem(uint64 index);
    /// @notice An ETH transfer failed.
    error TransferFailed();
    /// @notice Re-entrant call.
    error Reentrancy();

    /// @param inclusionDelay_ Deadline delay in L1 blocks (> 0); also the fee window length.
    /// @param baseFee_ Fee in wei with an empty window.
    /// @param feeStep_ Items per fee increment (> 0).
    /// @param maxPayloadBytes_ Payload size cap (> 0).
    /// @param feeRecipient_ Receiver of swept fees (non-zero).
    constructor(
        uint64 inclusionDelay_,
        uint256 baseFee_,
        uint64 feeStep_,
        uint32 maxPayloadBytes_,
        address feeRecipient_
    ) {
        if (inclusionDelay_ == 0) revert InvalidParameter("inclusionDelay");
        if (feeStep_ == 0) revert InvalidParameter("feeStep");
        if (maxPayloadBytes_ == 0) revert InvalidParameter("maxPayloadBytes");
        if (feeRecipient_ == address(0)) revert InvalidParameter("feeRecipient");
        inclusionDelay = inclusionDelay_;
        baseFee = baseFee_;
        feeStep = feeStep_;
        maxPayloadBytes = maxPayloadBytes_;
        feeRecipient = feeRecipient_;
        emit Parameters(inclusionDelay_, baseFee_, feeStep_, maxPayloadBytes_, feeRecipient_);
    }

    /// @notice Queues `payload` for rollup `namespace`. Accepts any `msg.value` at or above
    ///         `currentFee()` (nothing is refunded).
    /// @return index The item's sequential index.
    function forceInclude(uint64 namespace, bytes calldata payload) external payable returns (uint64 index) {
        if (payload.length == 0) revert EmptyPayload();
        if (payload.length > maxPayloadBytes) revert PayloadTooLarge(payload.length, maxPayloadBytes);
        (uint64 start, uint64 inWindow) = _window();
        uint256 fee = _fee(inWindow);
        if (msg.value < fee) revert FeeTooLow(msg.value, fee);

        index = count;
        uint64 l1Block = uint64(block.number);
        count = index + 1;
        windowStart = start;
        windowCount = inWindow + 1;
        _items[index] =
            Item({namespace: namespace, l1Block: l1Block, sender: msg.sender, payloadHash: keccak256(payload)});
        emit ForcedInclusion(index, namespace, msg.sender, payload, l1Block, msg.value);
    }

    /// @notice The fee `forceInclude` requires in the current block.
    function currentFee() external view returns (uint256) {
        (, uint64 inWindow) = _window();
        return _fee(inWindow);
    }

    /// @notice Item `index`.
    function item(uint64 index) external view returns (Item memory) {
        if (index >= count) revert UnknownItem(index);
        return _items[index];
    }

    /// @notice The L1 block at and after which item `index` is due: `l1Block + inclusionDelay`.
    function deadline(uint64 index) external view returns (uint64) {
        if (index >= count) revert UnknownItem(index);
        return _items[index].l1Block + inclusionDelay;
    }

    /// @notice Sends all collected fees to `feeRecipient`. Anyone may call it.
    function sweepFees() external {
        if (_locked != 0) revert Reentrancy();
        _locked = 1;
        uint256 amount = address(this).balance;
        emit FeesSwept(feeRecipient, amount);
        (bool ok,) = payable(feeRecipient).call{value: amount}("");
        if (!ok) revert TransferFailed();
        _locked = 0;
    }

    /// @dev The window the current block falls in, and how many items it already holds.
    function _window() private view returns (uint64 start, uint64 inWindow) {
        uint64 current = uint64(block.number);
        start = windowStart;
        if (count == 0 || current >= start + inclusionDelay) return (current, 0);
        return (start, windowCount);
    }

    function _fee(uint64 inWindow) private view returns (uint256) {
        return baseFee * (1 + uint256(inWindow / feeStep));
    }
}
