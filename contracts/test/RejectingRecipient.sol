// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice A recipient contract that refuses the native coin. Tests only.
contract RejectingRecipient {
    error NativeCoinRejected();

    receive() external payable {
        revert NativeCoinRejected();
    }
}
