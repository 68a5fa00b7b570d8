// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Malicious token: once armed, its next `transfer` or `transferFrom` first calls
/// `target` with `callData` (e.g. `pay` of the checkout contract, or `sweep` of the deposit
/// factory) and records the outcome. With `bubble` set it reverts with the inner call's revert
/// data; otherwise it goes on with the transfer so the test can check that the outer call alone
/// succeeded. Mintable by anyone. Tests only.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public callData;
    uint256 public callValue;
    bool public bubble;
    bool public armed;

    bool public reentryAttempted;
    bool public reentrySucceeded;
    bytes public reentryRevertData;

    constructor() ERC20("Reentrant Token", "REENT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev Fund the token with native coin first if `value_` is non-zero.
    function arm(address target_, bytes calldata callData_, uint256 value_, bool bubble_) external {
        target = target_;
        callData = callData_;
        callValue = value_;
        bubble = bubble_;
        armed = true;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        _reenter();
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        _reenter();
        return super.transferFrom(from, to, value);
    }

    receive() external payable {}

    function _reenter() private {
        if (armed) {
            armed = false;
            reentryAttempted = true;
            (bool ok, bytes memory returned) = target.call{value: callValue}(callData);
            reentrySucceeded = ok;
            if (!ok) {
                reentryRevertData = returned;
                if (bubble) {
                    assembly ("memory-safe") {
                        revert(add(returned, 0x20), mload(returned))
                    }
                }
            }
        }
    }
}
