// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Token that burns 1% of every transfer between two accounts, so the receiver gets less
/// than the amount asked for. Mintable by anyone. Tests only.
contract FeeOnTransferToken is ERC20 {
    uint256 public constant FEE_BPS = 100;

    constructor() ERC20("Fee On Transfer", "FOT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        // Round the fee up so that even a 1-unit transfer loses something.
        uint256 fee = (value * FEE_BPS + 9_999) / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
