// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {LowLevelCall} from "@openzeppelin/contracts/utils/LowLevelCall.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/**
 * @title KassaDepositFactory
 * @notice Counterfactual deposit addresses of the Kassa payment gateway. Every payment gets its
 * own address, derived with CREATE2 from the merchant's payout address, the fee terms and the
 * payment reference. A shopper pays with a plain transfer (from any wallet or exchange) to that
 * address; nothing is deployed until someone calls {sweep}, which deploys the deposit's
 * forwarder if needed and sends its whole balance of the native coin and of each listed token
 * to the payout address and the fee recipient the address was derived from.
 *
 * @dev Design notes.
 *
 * Binding. A deposit is an OpenZeppelin clone (ERC-1167 proxy) of {KassaDepositForwarder} with
 * immutable arguments `abi.encodePacked(payout, feeRecipient, uint16(feeBasisPoints))` appended
 * to its code, deployed with CREATE2 and `salt = paymentRef`. The address is a hash of this
 * factory, the salt and the clone's init code (which holds the arguments), so each of the four
 * parameters changes it, and the forwarder reads where funds may go from its own code: no caller
 * and no key can send a deposit's funds anywhere else.
 *
 * No owner. Neither contract has an owner, an admin function or an upgrade path. Sweeping is
 * permissionless: the gateway's sweeper, the merchant (if the operator vanishes) or anyone else
 * may call it, and the funds still only reach the bound payout address and fee recipient.
 *
 * Fee split. The shopper pays amount + fee on top, as in KassaCheckout, so of every balance
 * swept `fee = balance * feeBasisPoints / (10_000 + feeBasisPoints)` (rounded down, the rest to
 * the payout address). `feeBasisPoints == 0` or `feeRecipient == address(0)` means no fee.
 *
 * Failures. A sweep is all or nothing: when one transfer fails the whole sweep reverts with an
 * error naming what failed ({KassaDepositForwarder-TokenTransferFailed},
 * {KassaDepositForwarder-NativeTransferFailed}); the caller retries without that token. The
 * native coin is always swept, so a payout address or fee recipient that refuses the coin
 * blocks the sweeps of a deposit that holds some.
 *
 * Parameters are validated when the address is derived as well as at sweep time, so the gateway
 * can never hand out an address that could not be swept.
 */
contract KassaDepositFactory is ReentrancyGuardTransient {
    /// @notice One deposit to sweep with {sweepMany}: its four parameters and the tokens to sweep.
    struct Deposit {
        address payout;
        address feeRecipient;
        uint256 feeBasisPoints;
        bytes32 paymentRef;
        address[] tokens;
    }

    /// @notice The highest fee: 10,000 basis points, a fee as large as the amount.
    uint256 public constant MAX_FEE_BASIS_POINTS = 10_000;

    /// @notice The forwarder every deposit is a clone of, deployed by this factory's constructor.
    address public immutable forwarderImplementation;

    /// @notice A deposit's forwarder was deployed (by its first sweep).
    event DepositDeployed(address indexed deposit, bytes32 indexed paymentRef);
    /// @notice A deposit's balance of `token` (zero address: native coin) was swept.
    /// @param toPayout Sent to the payout address.
    /// @param toFee Sent to the fee recipient.
    event Swept(
        address indexed deposit, bytes32 indexed paymentRef, address indexed token, uint256 toPayout, uint256 toFee
    );

    /// @notice `feeBasisPoints` is above {MAX_FEE_BASIS_POINTS}.
    error FeeTooHigh(uint256 feeBasisPoints);
    /// @notice The payout address is zero, this factory or the forwarder implementation.
    error InvalidPayout(address payout);
    /// @notice The fee recipient is this factory or the forwarder implementation.
    error InvalidFeeRecipient(address feeRecipient);

    constructor() {
        forwarderImplementation = address(new KassaDepositForwarder());
    }

    /// @notice The deposit address of a payment; reverts for parameters that could not be swept.
    function depositAddress(address payout, address feeRecipient, uint256 feeBasisPoints, bytes32 paymentRef)
        external
        view
        returns (address)
    {
        bytes memory args = _cloneArgs(payout, feeRecipient, feeBasisPoints);
        return Clones.predictDeterministicAddressWithImmutableArgs(forwarderImplementation, args, paymentRef);
    }

    /// @notice Deploys the deposit's forwarder if it has no code yet, then sends its whole native
    /// balance and its whole balance of each token in `tokens` to the payout address and the fee
    /// recipient. Anyone may call it. Balances of zero are skipped (no transfer, no event), so a
    /// token listed twice, or the zero address (the native coin, already swept), moves nothing.
    /// @return deposit The deposit address.
    function sweep(
        address payout,
        address feeRecipient,
        uint256 feeBasisPoints,
        bytes32 paymentRef,
        address[] calldata tokens
    ) external nonReentrant returns (address deposit) {
        return _sweep(payout, feeRecipient, feeBasisPoints, paymentRef, tokens);
    }

    /// @notice {sweep} for several deposits in one transaction; reverts as a whole if one fails.
    function sweepMany(Deposit[] calldata deposits) external nonReentrant {
        for (uint256 i = 0; i < deposits.length; ++i) {
            Deposit calldata d = deposits[i];
            _sweep(d.payout, d.feeRecipient, d.feeBasisPoints, d.paymentRef, d.tokens);
        }
    }

    function _sweep(
        address payout,
        address feeRecipient,
        uint256 feeBasisPoints,
        bytes32 paymentRef,
        address[] calldata tokens
    ) private returns (address deposit) {
        bytes memory args = _cloneArgs(payout, feeRecipient, feeBasisPoints);
        deposit = Clones.predictDeterministicAddressWithImmutableArgs(forwarderImplementation, args, paymentRef);
        // Only this factory can deploy at `deposit` (CREATE2 binds the deployer), so code there is
        // always this clone.
        if (deposit.code.length == 0) {
            Clones.cloneDeterministicWithImmutableArgs(forwarderImplementation, args, paymentRef);
            emit DepositDeployed(deposit, paymentRef);
        }
        if (deposit.balance != 0) _forward(deposit, paymentRef, address(0));
        for (uint256 i = 0; i < tokens.length; ++i) {
            _forward(deposit, paymentRef, tokens[i]);
        }
    }

    function _forward(address deposit, bytes32 paymentRef, address token) private {
        (uint256 toPayout, uint256 toFee) = KassaDepositForwarder(payable(deposit)).forward(token);
        if (toPayout != 0) emit Swept(deposit, paymentRef, token, toPayout, toFee);
    }

    /// @dev The clone's immutable arguments, packed (42 bytes: each byte of clone code costs 200
    /// gas to deploy). Reverts for parameters a deposit could never be swept with.
    function _cloneArgs(address payout, address feeRecipient, uint256 feeBasisPoints)
        private
        view
        returns (bytes memory)
    {
        if (feeBasisPoints > MAX_FEE_BASIS_POINTS) revert FeeTooHigh(feeBasisPoints);
        // Funds sent to this factory or to the implementation could never be moved again.
        if (payout == address(0) || payout == address(this) || payout == forwarderImplementation) {
            revert InvalidPayout(payout);
        }
        if (feeRecipient == address(this) || feeRecipient == forwarderImplementation) {
            revert InvalidFeeRecipient(feeRecipient);
        }
        return abi.encodePacked(payout, feeRecipient, uint16(feeBasisPoints));
    }
}

/**
 * @title KassaDepositForwarder
 * @notice The code behind every deposit address (each deposit is a clone of this contract).
 * It accepts the native coin and tokens at any time and, when its factory asks, sends its whole
 * balance of one asset to the payout address and the fee recipient fixed in the clone's code.
 * It has no owner and keeps nothing after a sweep.
 */
contract KassaDepositForwarder {
    using SafeERC20 for IERC20;

    /// @dev Bits of an address in a 32-byte word.
    uint256 private constant ADDRESS_MASK = (1 << 160) - 1;

    /// @notice The only caller of {forward}: the factory, which emits the sweep events.
    address public immutable factory;

    /// @notice {forward} was called by someone other than the factory.
    error NotFactory(address caller);
    /// @notice The token address has no code.
    error InvalidToken(address token);
    /// @notice Sending the native coin failed (e.g. the receiver refuses it).
    error NativeTransferFailed(address to, uint256 amount);
    /// @notice The token's transfer reverted or returned false (e.g. a blocklisted receiver).
    error TokenTransferFailed(address token, address to, uint256 amount);

    constructor() {
        factory = msg.sender;
    }

    /// @notice Plain coin transfers to a deposit that was already swept once (and so has code).
    receive() external payable {}

    /// @notice Sends this deposit's whole balance of `token` (zero address: native coin), split
    /// into the fee and the rest, to the fee recipient and the payout address.
    /// @return toPayout What was sent to the payout address (0 when there was nothing).
    /// @return toFee What was sent to the fee recipient.
    function forward(address token) external returns (uint256 toPayout, uint256 toFee) {
        if (msg.sender != factory) revert NotFactory(msg.sender);
        (address payout, address feeRecipient, uint256 feeBasisPoints) = _terms();
        uint256 balance;
        if (token == address(0)) {
            balance = address(this).balance;
        } else {
            // A call to an address without code would "succeed" with no data.
            if (token.code.length == 0) revert InvalidToken(token);
            balance = IERC20(token).balanceOf(address(this));
        }
        if (balance == 0) return (0, 0);
        if (feeRecipient != address(0)) {
            // mulDiv: a token balance near 2^256 must not overflow the product.
            toFee = Math.mulDiv(balance, feeBasisPoints, 10_000 + feeBasisPoints);
        }
        // fee < balance for any fee rate, so the payout transfer is never a zero transfer (which
        // some tokens refuse).
        toPayout = balance - toFee;
        _send(token, payout, toPayout);
        if (toFee != 0) _send(token, feeRecipient, toFee);
    }

    /// @dev The payout address, fee recipient and fee rate packed into this clone's code by the
    /// factory (see {KassaDepositFactory-_cloneArgs}). Each field is read with the word that ends
    /// at its last byte and masked, so no read goes past the 42 bytes.
    function _terms() private view returns (address payout, address feeRecipient, uint256 feeBasisPoints) {
        bytes memory args = Clones.fetchCloneArgs(address(this));
        assembly ("memory-safe") {
            payout := and(mload(add(args, 20)), ADDRESS_MASK)
            feeRecipient := and(mload(add(args, 40)), ADDRESS_MASK)
            feeBasisPoints := and(mload(add(args, 42)), 0xffff)
        }
    }

    function _send(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            // All gas is forwarded so smart-contract wallets work; no return data is copied.
            if (!LowLevelCall.callNoReturn(to, amount, "")) revert NativeTransferFailed(to, amount);
        } else if (!IERC20(token).trySafeTransfer(to, amount)) {
            // trySafeTransfer: USDT-like tokens that return nothing pass; a revert or `false`
            // becomes one error that names the token, so the sweeper can retry without it.
            revert TokenTransferFailed(token, to, amount);
        }
    }
}
