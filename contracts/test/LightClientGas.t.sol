// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Committees} from "./utils/Committees.sol";
import {LightClient} from "../src/LightClient.sol";

/// @notice Gas of `submitBlock` for committees of 4, 20 and 100 equal-power validators with just
///         above 2/3 of them signing. Run with `-vv` (or `contracts/gas-report.sh`) to print:
///         `execution` is the gas spent by the call, `transaction` adds the intrinsic cost
///         a real transaction pays (21000 + calldata at 4/16 gas per zero/non-zero byte).
///         The Rust integration test measures the same on Anvil from transaction receipts.
contract LightClientGasTest is Committees {
    uint64 internal constant CHAIN = 4242;
    uint256 internal constant GOAL_AT_100 = 594_533;
    /// Cost of a CALL to a cold account (EIP-2929).
    uint256 internal constant COLD_CALL = 2_600;

    function measure(uint256 n) internal returns (uint256 transactionGas) {
        Committee memory c = makeCommittee(n, 10_000 * n, 100);
        LightClient lc = new LightClient(CHAIN, 0, c.members, c.powers, 100);
        // Warm-up block: the first write to `latestHeight` pays for a zero-to-non-zero slot, which
        // a live light client paid long ago.
        warmUp(lc, c, quorum(n));

        uint256 signers = quorum(n);
        bytes32 bh = keccak256(abi.encode("block", n));
        LightClient.SignerSig[] memory sigs = precommits(c, CHAIN, 2, 0, bh, firstN(signers));
        bytes memory data = abi.encodeCall(LightClient.submitBlock, (2, 0, bh, lcc(c), sigs));

        // As in a fresh transaction: the contract's account and storage are cold. A transaction
        // pays no CALL; its 21000 base covers the `to` account, so the cold-call surcharge is
        // taken off the measured figure.
        vm.cool(address(lc));
        uint256 before = gasleft();
        (bool ok,) = address(lc).call(data);
        uint256 execution = before - gasleft() - COLD_CALL;
        require(ok, "submitBlock failed");
        assertEq(lc.blockHashAt(2), bh, "stored");

        transactionGas = execution + intrinsic(data);
        log(
            string.concat(
                "submitBlock validators=", vm.toString(n), " signers=", vm.toString(signers), " execution gas"
            ),
            execution
        );
        log(
            string.concat(
                "submitBlock validators=", vm.toString(n), " signers=", vm.toString(signers), " transaction gas"
            ),
            transactionGas
        );
    }

    function warmUp(LightClient lc, Committee memory c, uint256 signers) internal {
        LightClient.SignerSig[] memory sigs = precommits(c, CHAIN, 1, 0, keccak256("1"), firstN(signers));
        lc.submitBlock(1, 0, keccak256("1"), lcc(c), sigs);
    }

    function intrinsic(bytes memory data) internal pure returns (uint256 gas) {
        gas = 21_000;
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    function test_gas_submitBlock() public {
        measure(4);
        measure(20);
        uint256 at100 = measure(100);
        assertLt(at100, GOAL_AT_100, "gas goal at 100 validators");
    }
}
