// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {TestERC20} from "./TestERC20.sol";

/// @notice USDC-like test token: 6 decimals, standard `bool` returns, mintable by anyone.
/// @dev Tests and local devnets only. No constructor arguments, so a devnet can deploy it as is.
contract TestUSDC is TestERC20 {
    constructor() TestERC20("Test USD Coin", "tUSDC", 6) {}
}
