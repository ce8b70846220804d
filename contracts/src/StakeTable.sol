// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {OrdoSig} from "./OrdoSig.sol";

/// @title StakeTable
/// @notice The source of truth for who may sit in Ordo's committee. A validator is identified by
///         its consensus key's address (the key that signs votes); its operator registers it with
///         a proof of possession of that key. Stake is native ETH, held per validator in a pool
///         of shares so that slashing cuts every staker of the validator in proportion, in O(1).
///         Unstaking burns active shares into an exit request that stays slashable and becomes
///         withdrawable after `exitDelay` seconds. Two conflicting votes signed by a validator's
///         consensus key (`slash`) cut its stake by `slashBps`, pay `rewardBps` of the cut to the
///         reporter, keep the rest locked in this contract for good, and jail the validator
///         permanently.
/// @dev    Every parameter is immutable: there is no owner. Every state change emits an event, and
///         every change of a validator's stake ends with a `StakeUpdated` carrying its new totals,
///         so a node can rebuild the table from logs alone.
contract StakeTable {
    /// @notice A validator's record, keyed by its consensus address.
    struct Validator {
        /// @dev The account that registered the validator; its own stake is the self-stake.
        address operator;
        /// @dev Jailed validators are excluded from elections for good.
        bool jailed;
        /// @dev Wei held for this validator: active shares plus shares in exit requests.
        uint256 stake;
        /// @dev All shares, active and exiting.
        uint256 shares;
        /// @dev Shares in exit requests not yet withdrawn.
        uint256 exitingShares;
        /// @dev libp2p multiaddr of the node, for discovery.
        string p2pAddress;
        /// @dev Base URL of the node's HTTP API, for discovery.
        string apiAddress;
    }

    /// @notice A pending exit: `shares` of `validator` owned by `staker`.
    struct UnstakeRequest {
        address validator;
        uint64 withdrawableAt;
        address staker;
        uint256 shares;
    }

    /// @notice Vote signed by a validator, as evidence (the fields of the FORMATS.md vote digest).
    struct SignedVote {
        uint64 height;
        uint32 round;
        uint8 voteType;
        bytes32 blockHash;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice Domain tag of the proof-of-possession digest.
    bytes16 public constant REGISTER_TAG = "ordo/register/v1";
    /// @notice Basis-point denominator.
    uint256 public constant BPS = 10_000;
    /// @notice Longest accepted p2p or API address, in bytes.
    uint256 public constant MAX_ADDRESS_LENGTH = 256;

    /// @notice Ordo chain id signed into votes; evidence from another chain does not count.
    uint64 public immutable ordoChainId;
    /// @notice Minimum self-stake of a validator's operator, in wei.
    uint256 public immutable minStake;
    /// @notice Minimum stake of a delegator's position, in wei.
    uint256 public immutable minDelegation;
    /// @notice Seconds between an unstake request and its withdrawal.
    uint64 public immutable exitDelay;
    /// @notice Fraction of a validator's stake cut by a slash, in basis points.
    uint16 public immutable slashBps;
    /// @notice Fraction of the cut paid to the reporter, in basis points.
    uint16 public immutable rewardBps;

    mapping(address validator => Validator) private _validators;
    mapping(address validator => mapping(address staker => uint256)) private _shares;
    mapping(uint256 id => UnstakeRequest) private _requests;
    address[] private _validatorList;
    /// @notice Id of the next unstake request.
    uint256 public nextRequestId;
    /// @notice Wei cut by slashes and not paid to reporters: locked in this contract for good.
    uint256 public totalBurned;

    uint256 private transient _locked;

    /// @notice The immutable parameters, emitted once at deployment.
    event Parameters(
        uint64 ordoChainId, uint256 minStake, uint256 minDelegation, uint64 exitDelay, uint16 slashBps, uint16 rewardBps
    );
    /// @notice A validator was registered by `operator`.
    event ValidatorRegistered(
        address indexed validator, address indexed operator, string p2pAddress, string apiAddress
    );
    /// @notice The operator changed the discovery addresses.
    event AddressesUpdated(address indexed validator, string p2pAddress, string apiAddress);
    /// @notice `staker` added `amount` wei, receiving `shares`.
    event Staked(address indexed validator, address indexed staker, uint256 amount, uint256 shares);
    /// @notice `staker` moved `shares` into exit request `id`.
    event UnstakeRequested(
        uint256 indexed id, address indexed validator, address indexed staker, uint256 shares, uint64 withdrawableAt
    );
    /// @notice Exit request `id` paid out `amount` wei.
    event Withdrawn(uint256 indexed id, address indexed validator, address indexed staker, uint256 amount);
    /// @notice A validator was slashed for equivocating at (height, round, voteType).
    event Slashed(
        address indexed validator,
        address indexed reporter,
        uint256 amount,
        uint256 reward,
        uint64 height,
        uint32 round,
        uint8 voteType
    );
    /// @notice A validator was jailed: it is excluded from elections from now on.
    event Jailed(address indexed validator);
    /// @notice A validator's totals after any change: `activeStake` (wei not in exit requests)
    ///         is its election weight; `selfStake` is its operator's active stake.
    event StakeUpdated(address indexed validator, uint256 activeStake, uint256 selfStake);

    /// @notice A parameter is out of range.
    error InvalidParameter(string name);
    /// @notice The consensus address is already registered.
    error AlreadyRegistered(address validator);
    /// @notice No validator is registered under this address.
    error UnknownValidator(address validator);
    /// @notice The proof of possession does not recover to the consensus address.
    error InvalidProofOfPossession();
    /// @notice A p2p or API address is empty or longer than `MAX_ADDRESS_LENGTH`.
    error InvalidNodeAddress();
    /// @notice Only the validator's operator may do this.
    error NotOperator(address caller);
    /// @notice The validator is jailed.
    error ValidatorJailed(address validator);
    /// @notice A position would be left above zero but below its minimum.
    error BelowMinimum(uint256 value, uint256 minimum);
    /// @notice Zero amount or zero shares.
    error ZeroAmount();
    /// @notice The staker holds fewer shares than requested.
    error InsufficientShares(uint256 held, uint256 requested);
    /// @notice No pending exit request with this id.
    error UnknownRequest(uint256 id);
    /// @notice Only the request's staker may withdraw it.
    error NotStaker(address caller);
    /// @notice The exit delay has not passed.
    error ExitDelayNotPassed(uint64 withdrawableAt);
    /// @notice Evidence votes differ in height, round or type, have an unknown type, or have the
    ///         same block hash: they do not conflict.
    error NotConflicting();
    /// @notice An evidence signature is malformed or the two votes are by different keys.
    error InvalidEvidenceSignature();
    /// @notice The validator was already slashed (and jailed); evidence pays once.
    error AlreadySlashed(address validator);
    /// @notice An ETH transfer failed.
    error TransferFailed();
    /// @notice Re-entrant call.
    error Reentrancy();

    modifier nonReentrant() {
        if (_locked != 0) revert Reentrancy();
        _locked = 1;
        _;
        _locked = 0;
    }

    /// @param ordoChainId_ Ordo chain id (votes are signed for it).
    /// @param minStake_ Minimum operator self-stake in wei (> 0).
    /// @param minDelegation_ Minimum delegation position in wei (> 0).
    /// @param exitDelay_ Seconds from unstake request to withdrawal.
    /// @param slashBps_ Slashed fraction of stake, basis points (1..=10000).
    /// @param rewardBps_ Reporter's share of the slashed amount, basis points (0..=10000).
    constructor(
        uint64 ordoChainId_,
        uint256 minStake_,
        uint256 minDelegation_,
        uint64 exitDelay_,
        uint16 slashBps_,
        uint16 rewardBps_
    ) {
        if (minStake_ == 0) revert InvalidParameter("minStake");
        if (minDelegation_ == 0) revert InvalidParameter("minDelegation");
        if (slashBps_ == 0 || slashBps_ > BPS) revert InvalidParameter("slashBps");
        if (rewardBps_ > BPS) revert InvalidParameter("rewardBps");
        ordoChainId = ordoChainId_;
        minStake = minStake_;
        minDelegation = minDelegation_;
        exitDelay = exitDelay_;
        slashBps = slashBps_;
        rewardBps = rewardBps_;
        emit Parameters(ordoChainId_, minStake_, minDelegation_, exitDelay_, slashBps_, rewardBps_);
    }

    // ------------------------------------------------------------------ registration

    /// @notice The digest the consensus key signs to prove possession for `registrant`:
    ///         `keccak256("ordo/register/v1" (16 bytes) || block.chainid (32) || address(this) (20) || registrant (20))`.
    function possessionDigest(address registrant) public view returns (bytes32) {
        return keccak256(abi.encodePacked(REGISTER_TAG, block.chainid, address(this), registrant));
    }

    /// @notice Registers `validator` (a consensus key's address) with the caller as operator and
    ///         `msg.value` (at least `minStake`) as its self-stake.
    /// @param proof The consensus key's signature over `possessionDigest(msg.sender)`, `r || s || v`.
    function register(address validator, bytes calldata proof, string calldata p2pAddress, string calldata apiAddress)
        external
        payable
    {
        if (_validators[validator].operator != address(0)) revert AlreadyRegistered(validator);
        if (msg.value < minStake) revert BelowMinimum(msg.value, minStake);
        _checkNodeAddresses(p2pAddress, apiAddress);
        if (proof.length != 65) revert InvalidProofOfPossession();
        address signer = OrdoSig.tryRecover(
            possessionDigest(msg.sender), uint8(proof[64]), bytes32(proof[0:32]), bytes32(proof[32:64])
        );
        if (signer == address(0) || signer != validator) revert InvalidProofOfPossession();

        Validator storage val = _validators[validator];
        val.operator = msg.sender;
        val.p2pAddress = p2pAddress;
        val.apiAddress = apiAddress;
        _validatorList.push(validator);
        emit ValidatorRegistered(validator, msg.sender, p2pAddress, apiAddress);
        _deposit(validator, val, msg.sender, msg.value);
    }

    /// @notice Replaces the discovery addresses (operator only).
    function updateAddresses(address validator, string calldata p2pAddress, string calldata apiAddress) external {
        Validator storage val = _validators[validator];
        if (val.operator == address(0)) revert UnknownValidator(validator);
        if (val.operator != msg.sender) revert NotOperator(msg.sender);
        _checkNodeAddresses(p2pAddress, apiAddress);
        val.p2pAddress = p2pAddress;
        val.apiAddress = apiAddress;
        emit AddressesUpdated(validator, p2pAddress, apiAddress);
    }

    // ------------------------------------------------------------------ staking

    /// @notice Adds `msg.value` to the caller's stake in `validator`: self-stake for its
    ///         operator, a delegation for anyone else. The resulting position must be worth at
    ///         least `minStake` (operator) or `minDelegation` (delegator).
    function stake(address validator) external payable {
        Validator storage val = _validators[validator];
        if (val.operator == address(0)) revert UnknownValidator(validator);
        if (val.jailed) revert ValidatorJailed(validator);
        _deposit(validator, val, msg.sender, msg.value);
    }

    /// @notice Moves `shares` of the caller's stake in `validator` into an exit request,
    ///         withdrawable after `exitDelay`. Until withdrawn it stays slashable. What remains
    ///         must be zero or at least the position's minimum.
    /// @return id The exit request id.
    function requestUnstake(address validator, uint256 shares) external returns (uint256 id) {
        Validator storage val = _validators[validator];
        if (val.operator == address(0)) revert UnknownValidator(validator);
        if (shares == 0) revert ZeroAmount();
        uint256 held = _shares[validator][msg.sender];
        if (shares > held) revert InsufficientShares(held, shares);
        uint256 remaining = held - shares;
        if (remaining != 0) {
            uint256 value = _valueOf(val, remaining);
            uint256 minimum = _minimumFor(val, msg.sender);
            if (value < minimum) revert BelowMinimum(value, minimum);
        }
        _shares[validator][msg.sender] = remaining;
        val.exitingShares += shares;

        id = nextRequestId++;
        uint64 withdrawableAt = uint64(block.timestamp) + exitDelay;
        _requests[id] =
            UnstakeRequest({validator: validator, withdrawableAt: withdrawableAt, staker: msg.sender, shares: shares});
        emit UnstakeRequested(id, validator, msg.sender, shares, withdrawableAt);
        _emitTotals(validator, val);
    }

    /// @notice Pays out exit request `id` to its staker once the exit delay has passed, at the
    ///         share value of the moment (slashes during the delay apply).
    function withdraw(uint256 id) external nonReentrant {
        UnstakeRequest memory req = _requests[id];
        if (req.staker == address(0)) revert UnknownRequest(id);
        if (req.staker != msg.sender) revert NotStaker(msg.sender);
        // A proposer can skew the timestamp by seconds; the exit delay is days.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < req.withdrawableAt) revert ExitDelayNotPassed(req.withdrawableAt);

        Validator storage val = _validators[req.validator];
        uint256 amount = _valueOf(val, req.shares);
        delete _requests[id];
        val.stake -= amount;
        val.shares -= req.shares;
        val.exitingShares -= req.shares;
        emit Withdrawn(id, req.validator, msg.sender, amount);
        _emitTotals(req.validator, val);

        _send(msg.sender, amount);
    }

    // ------------------------------------------------------------------ slashing

    /// @notice Slashes the validator that signed both `a` and `b`: two votes with the same
    ///         height, round and vote type but different block hashes, each a valid signature
    ///         over the FORMATS.md vote digest for this contract's `ordoChainId`. Cuts `slashBps`
    ///         of its stake (exit requests included), pays `rewardBps` of the cut to the caller,
    ///         and jails the validator. A validator is slashed at most once.
    function slash(SignedVote calldata a, SignedVote calldata b) external nonReentrant {
        if (
            a.height != b.height || a.round != b.round || a.voteType != b.voteType || a.blockHash == b.blockHash
                || (a.voteType != OrdoSig.PREVOTE && a.voteType != OrdoSig.PRECOMMIT)
        ) revert NotConflicting();
        address signerA = OrdoSig.tryRecover(
            OrdoSig.voteDigest(ordoChainId, a.height, a.round, a.voteType, a.blockHash), a.v, a.r, a.s
        );
        address signerB = OrdoSig.tryRecover(
            OrdoSig.voteDigest(ordoChainId, b.height, b.round, b.voteType, b.blockHash), b.v, b.r, b.s
        );
        if (signerA == address(0) || signerA != signerB) revert InvalidEvidenceSignature();

        Validator storage val = _validators[signerA];
        if (val.operator == address(0)) revert UnknownValidator(signerA);
        if (val.jailed) revert AlreadySlashed(signerA);

        uint256 amount = val.stake * slashBps / BPS;
        uint256 reward = amount * rewardBps / BPS;
        val.stake -= amount;
        val.jailed = true;
        totalBurned += amount - reward;
        emit Slashed(signerA, msg.sender, amount, reward, a.height, a.round, a.voteType);
        emit Jailed(signerA);
        _emitTotals(signerA, val);

        if (reward != 0) _send(msg.sender, reward);
    }

    // ------------------------------------------------------------------ views

    /// @notice The validator's record (operator zero when unknown).
    function getValidator(address validator) external view returns (Validator memory) {
        return _validators[validator];
    }

    /// @notice Number of registered validators (jailed ones included).
    function validatorCount() external view returns (uint256) {
        return _validatorList.length;
    }

    /// @notice The consensus address of the `i`-th registered validator.
    function validatorAt(uint256 i) external view returns (address) {
        return _validatorList[i];
    }

    /// @notice Active shares of `staker` in `validator`.
    function sharesOf(address validator, address staker) external view returns (uint256) {
        return _shares[validator][staker];
    }

    /// @notice Wei value of `staker`'s active shares in `validator`.
    function stakeOf(address validator, address staker) public view returns (uint256) {
        return _valueOf(_validators[validator], _shares[validator][staker]);
    }

    /// @notice Wei of `validator` not in exit requests: its election weight.
    function activeStake(address validator) public view returns (uint256) {
        Validator storage val = _validators[validator];
        return _valueOf(val, val.shares - val.exitingShares);
    }

    /// @notice Wei value of the operator's own active shares.
    function selfStake(address validator) public view returns (uint256) {
        return stakeOf(validator, _validators[validator].operator);
    }

    /// @notice Whether `validator` may be elected: registered, not jailed, self-stake at least
    ///         `minStake`.
    function isEligible(address validator) external view returns (bool) {
        Validator storage val = _validators[validator];
        return val.operator != address(0) && !val.jailed && selfStake(validator) >= minStake;
    }

    /// @notice Exit request `id` (staker zero when unknown or withdrawn).
    function unstakeRequest(uint256 id) external view returns (UnstakeRequest memory) {
        return _requests[id];
    }

    // ------------------------------------------------------------------ internals

    function _deposit(address validator, Validator storage val, address staker, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        // Rounds down, in favour of the pool. A pool without shares starts at one share per wei.
        // `val.stake` is never zero while shares exist for a validator that accepts deposits:
        // without slashes the price stays one share per wei, and a slash jails the validator.
        uint256 minted = val.shares == 0 ? amount : amount * val.shares / val.stake;
        if (minted == 0) revert ZeroAmount();
        val.stake += amount;
        val.shares += minted;
        uint256 held = _shares[validator][staker] + minted;
        _shares[validator][staker] = held;
        uint256 value = _valueOf(val, held);
        uint256 minimum = _minimumFor(val, staker);
        if (value < minimum) revert BelowMinimum(value, minimum);
        emit Staked(validator, staker, amount, minted);
        _emitTotals(validator, val);
    }

    function _emitTotals(address validator, Validator storage val) private {
        emit StakeUpdated(
            validator, _valueOf(val, val.shares - val.exitingShares), _valueOf(val, _shares[validator][val.operator])
        );
    }

    function _valueOf(Validator storage val, uint256 shares) private view returns (uint256) {
        uint256 total = val.shares;
        return total == 0 ? 0 : shares * val.stake / total;
    }

    function _minimumFor(Validator storage val, address staker) private view returns (uint256) {
        return staker == val.operator ? minStake : minDelegation;
    }

    function _checkNodeAddresses(string calldata p2pAddress, string calldata apiAddress) private pure {
        uint256 p = bytes(p2pAddress).length;
        uint256 a = bytes(apiAddress).length;
        if (p == 0 || a == 0 || p > MAX_ADDRESS_LENGTH || a > MAX_ADDRESS_LENGTH) revert InvalidNodeAddress();
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
