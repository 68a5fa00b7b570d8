// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/**
 * @title KassaCheckout
 * @notice Non-custodial checkout contract of the Kassa payment gateway. A shopper pays a merchant
 * with `pay(intent, signature)`: the intent is an exact payment (token, amount, recipient, fee,
 * deadline) for one checkout session, EIP-712 signed by one of the gateway's intent signers.
 * Funds move from the payer to the merchant (and the fee to the fee recipient) in the same
 * transaction; this contract never keeps a balance of a payment.
 *
 * @dev Design notes.
 *
 * One payment per session. `uint256(intent.sessionRef)` is a nonce in an unordered nonce
 * bitmap (the Permit2 scheme): `word = nonce >> 8`, `bit = nonce & 255`, so 256 one-time
 * "session paid" flags share one storage slot. Setting a flag in a fresh slot costs ~22.1k gas,
 * setting one in an already used slot ~5k. The backend therefore assigns sessions sequential
 * nonce indexes: only one payment in 256 pays for a fresh slot. Any bytes32 is a valid
 * sessionRef; sequential values are only cheaper. The flag is set before any external call,
 * so the same sessionRef can never be paid twice on this chain, whatever the paymentRef.
 *
 * Exact amounts. Native coin: `msg.value` must equal `amount + fee`. Tokens: `msg.value` must be
 * zero; the token is pulled with `transferFrom` straight from the payer to the recipient (and to
 * the fee recipient) and the recipient's balance difference must equal the amount, so
 * fee-on-transfer tokens revert. Consequence: a payer cannot pay itself in tokens (its balance
 * difference is zero).
 *
 * No `receive` and no `fallback`: coins or tokens that still reach this contract (selfdestruct,
 * block rewards, a plain token transfer) can only be moved out by the owner with {rescue}.
 *
 * Storage layout: `Pausable._paused` and `feeRecipient` share one slot (the inheritance order
 * below puts `Pausable` last among the bases), so a payment with a fee reads both for one
 * cold SLOAD. A test pins this layout.
 *
 * Not upgradeable. A new version is a new deployment with a new EIP-712 domain.
 */
contract KassaCheckout is Ownable2Step, EIP712, ReentrancyGuardTransient, Pausable {
    using SafeERC20 for IERC20;

    /// @notice One exact payment for one checkout session, signed by an intent signer.
    /// @param sessionRef Session nonce index, read as `uint256` (see the bitmap above).
    /// @param paymentRef Identifies the gateway's payment attempt; echoed in the event.
    /// @param token ERC-20 token, or the zero address for the native coin.
    /// @param amount Base units the recipient receives; must be non-zero.
    /// @param recipient Merchant payout address.
    /// @param fee Base units the fee recipient receives on top of `amount` (0 = no fee).
    /// @param deadline Last valid block timestamp (inclusive).
    struct PaymentIntent {
        bytes32 sessionRef;
        bytes32 paymentRef;
        address token;
        uint256 amount;
        address recipient;
        uint256 fee;
        uint256 deadline;
    }

    /// @notice EIP-712 type hash of {PaymentIntent}.
    bytes32 public constant PAYMENT_INTENT_TYPEHASH = keccak256(
        "PaymentIntent(bytes32 sessionRef,bytes32 paymentRef,address token,uint256 amount,address recipient,uint256 fee,uint256 deadline)"
    );

    /// @notice Receives `intent.fee`. Zero disables fees: an intent with a fee then reverts.
    /// @dev Packed into the same slot as `Pausable._paused` (see the storage note above).
    address public feeRecipient;

    /// @notice Addresses whose EIP-712 signatures authorise payments.
    mapping(address signer => bool authorised) public isSigner;

    /// @notice Session-paid flags, 256 per word: bit `nonce & 255` of word `nonce >> 8`.
    mapping(uint256 word => uint256 flags) public sessionBitmap;

    /// @notice A payment was made; the only event the gateway's watcher needs.
    event PaymentReceived(
        bytes32 indexed sessionRef,
        bytes32 indexed paymentRef,
        address indexed payer,
        address token,
        uint256 amount,
        address recipient,
        uint256 fee
    );
    event SignerAdded(address indexed signer);
    event SignerRemoved(address indexed signer);
    event FeeRecipientChanged(address indexed previousFeeRecipient, address indexed newFeeRecipient);
    event Rescued(address indexed token, address indexed to, uint256 amount);

    /// @notice `block.timestamp` is past the intent's deadline.
    error IntentExpired(uint256 deadline, uint256 timestamp);
    /// @notice The intent's amount is zero.
    error ZeroAmount();
    /// @notice The recipient is the zero address or this contract.
    error InvalidRecipient(address recipient);
    /// @notice A native-coin intent was sent with `msg.value != amount + fee`.
    error IncorrectNativeValue(uint256 amount, uint256 fee, uint256 value);
    /// @notice A token intent was sent with native coin attached.
    error NativeValueWithTokenIntent(uint256 value);
    /// @notice The intent carries a fee but no fee recipient is set.
    error FeeRecipientNotSet();
    /// @notice The signature is well-formed but its signer is not an authorised intent signer
    /// (also the result of a signature for another chain or another deployment).
    error UnauthorizedSigner(address recovered);
    /// @notice This session ref has already been paid.
    error SessionAlreadyPaid(bytes32 sessionRef);
    /// @notice Sending native coin failed (e.g. the recipient rejects it).
    error NativeTransferFailed(address to, uint256 amount);
    /// @notice The token's `balanceOf` failed or returned no value (e.g. not a contract).
    error InvalidToken(address token);
    /// @notice The receiver's token balance did not grow by exactly the amount (fee-on-transfer).
    error TokenAmountMismatch(address token, address to, uint256 expected, uint256 received);
    /// @notice A signer cannot be the zero address.
    error InvalidSigner(address signer);
    /// @notice The signer is already authorised.
    error SignerAlreadyAdded(address signer);
    /// @notice The signer is not authorised.
    error SignerNotFound(address signer);
    /// @notice The fee recipient cannot be this contract.
    error InvalidFeeRecipient(address feeRecipient);

    /// @param initialOwner Operator account (a multisig in production); manages signers,
    /// fee recipient, pause and rescue.
    /// @param initialSigners Intent signers authorised from the start.
    /// @param initialFeeRecipient Fee recipient, or the zero address for no fees.
    constructor(address initialOwner, address[] memory initialSigners, address initialFeeRecipient)
        Ownable(initialOwner)
        EIP712("KassaCheckout", "1")
    {
        for (uint256 i = 0; i < initialSigners.length; ++i) {
            _addSigner(initialSigners[i]);
        }
        _setFeeRecipient(initialFeeRecipient);
    }

    // ---------------------------------------------------------------- payment

    /// @notice Pays `intent` from `msg.sender`: native coin as `msg.value`, or an ERC-20 the payer
    /// has approved to this contract for `amount + fee`.
    /// @param intent The signed payment intent (kept in calldata: it is only read).
    /// @param signature 65-byte EIP-712 signature of `intent` by an authorised signer.
    function pay(PaymentIntent calldata intent, bytes calldata signature)
        external
        payable
        nonReentrant
        whenNotPaused
    {
        // Cheap checks first so that a bad call fails before the signature recovery.
        if (block.timestamp > intent.deadline) revert IntentExpired(intent.deadline, block.timestamp);
        address token = intent.token;
        address recipient = intent.recipient;
        uint256 amount = intent.amount;
        uint256 fee = intent.fee;
        if (amount == 0) revert ZeroAmount();
        if (recipient == address(0) || recipient == address(this)) revert InvalidRecipient(recipient);
        if (token == address(0)) {
            // Written as a subtraction so that a huge amount + fee cannot overflow.
            if (msg.value < fee || msg.value - fee != amount) {
                revert IncorrectNativeValue(amount, fee, msg.value);
            }
        } else if (msg.value != 0) {
            revert NativeValueWithTokenIntent(msg.value);
        }
        address feeTo;
        if (fee != 0) {
            feeTo = feeRecipient;
            if (feeTo == address(0)) revert FeeRecipientNotSet();
        }

        // Reverts with ECDSA's own errors on a wrong length, a high `s` (malleable) or a
        // zero/invalid signature.
        address signer = ECDSA.recoverCalldata(_hashTypedDataV4(_hashIntent(intent)), signature);
        if (!isSigner[signer]) revert UnauthorizedSigner(signer);

        // Effects before interactions: mark the session paid, then move funds.
        _markSessionPaid(intent.sessionRef);

        if (token == address(0)) {
            _sendNative(recipient, amount);
            if (fee != 0) _sendNative(feeTo, fee);
        } else {
            _pullTokenExact(token, msg.sender, recipient, amount);
            if (fee != 0) _pullTokenExact(token, msg.sender, feeTo, fee);
        }

        emit PaymentReceived(intent.sessionRef, intent.paymentRef, msg.sender, token, amount, recipient, fee);
    }

    // ---------------------------------------------------------------- views

    /// @notice True once `sessionRef` has been paid.
    function isSessionPaid(bytes32 sessionRef) external view returns (bool) {
        uint256 nonce = uint256(sessionRef);
        return sessionBitmap[nonce >> 8] & (1 << (nonce & 255)) != 0;
    }

    /// @notice The EIP-712 digest a signer signs for `intent` on this deployment.
    function hashIntent(PaymentIntent calldata intent) external view returns (bytes32) {
        return _hashTypedDataV4(_hashIntent(intent));
    }

    /// @notice The EIP-712 domain separator of this deployment and chain.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- owner

    function pause() external onlyOwner {
        _pause();
    }

    function unpause() external onlyOwner {
        _unpause();
    }

    function addSigner(address signer) external onlyOwner {
        _addSigner(signer);
    }

    function removeSigner(address signer) external onlyOwner {
        if (!isSigner[signer]) revert SignerNotFound(signer);
        isSigner[signer] = false;
        emit SignerRemoved(signer);
    }

    function setFeeRecipient(address newFeeRecipient) external onlyOwner {
        _setFeeRecipient(newFeeRecipient);
    }

    /// @notice Moves coins or tokens that reached this contract by mistake (selfdestruct, block
    /// rewards, plain token transfers). Payments never leave a balance here.
    /// @param token ERC-20 token, or the zero address for the native coin.
    function rescue(address token, address to, uint256 amount) external onlyOwner nonReentrant {
        if (to == address(0) || to == address(this)) revert InvalidRecipient(to);
        if (token == address(0)) {
            _sendNative(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
        emit Rescued(token, to, amount);
    }

    // ---------------------------------------------------------------- internals

    /// @dev EIP-712 hashStruct: keccak256(typeHash || the seven 32-byte fields). Every field is a
    /// static 32-byte atom, so the struct's calldata is its encodeData and is hashed as is (no
    /// per-field re-encoding). Fields with dirty high bits would hash differently from what was
    /// signed, so they can only fail the signature check.
    function _hashIntent(PaymentIntent calldata intent) private pure returns (bytes32 structHash) {
        bytes32 typeHash = PAYMENT_INTENT_TYPEHASH;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, typeHash)
            calldatacopy(add(ptr, 0x20), intent, 0xe0)
            structHash := keccak256(ptr, 0x100)
        }
    }

    function _markSessionPaid(bytes32 sessionRef) private {
        uint256 nonce = uint256(sessionRef);
        uint256 word = nonce >> 8;
        uint256 bit = 1 << (nonce & 255);
        uint256 flags = sessionBitmap[word];
        if (flags & bit != 0) revert SessionAlreadyPaid(sessionRef);
        sessionBitmap[word] = flags | bit;
    }

    function _sendNative(address to, uint256 amount) private {
        bool ok;
        // A bare CALL that copies no return data: a recipient cannot make the payer pay for
        // copying a large revert reason. All gas is forwarded so smart-contract wallets work.
        assembly ("memory-safe") {
            ok := call(gas(), to, amount, 0, 0, 0, 0)
        }
        if (!ok) revert NativeTransferFailed(to, amount);
    }

    /// @dev Pulls `amount` of `token` from `from` straight to `to` and checks that `to` received
    /// exactly `amount`, which rejects fee-on-transfer and similar tokens.
    function _pullTokenExact(address token, address from, address to, uint256 amount) private {
        uint256 balanceBefore = _balanceOf(token, to);
        IERC20(token).safeTransferFrom(from, to, amount);
        uint256 balanceAfter = _balanceOf(token, to);
        if (balanceAfter < balanceBefore || balanceAfter - balanceBefore != amount) {
            uint256 received = balanceAfter < balanceBefore ? 0 : balanceAfter - balanceBefore;
            revert TokenAmountMismatch(token, to, amount, received);
        }
    }

    /// @dev `balanceOf` that reverts with {InvalidToken} instead of an empty revert when `token`
    /// has no code or returns too little data.
    function _balanceOf(address token, address account) private view returns (uint256 amount) {
        bool ok;
        assembly ("memory-safe") {
            mstore(0x00, 0x70a08231) // balanceOf(address)
            mstore(0x20, account)
            ok := staticcall(gas(), token, 0x1c, 0x24, 0x00, 0x20)
            ok := and(ok, gt(returndatasize(), 0x1f))
            amount := mload(0x00)
        }
        if (!ok) revert InvalidToken(token);
    }

    function _addSigner(address signer) private {
        if (signer == address(0)) revert InvalidSigner(signer);
        if (isSigner[signer]) revert SignerAlreadyAdded(signer);
        isSigner[signer] = true;
        emit SignerAdded(signer);
    }

    function _setFeeRecipient(address newFeeRecipient) private {
        if (newFeeRecipient == address(this)) revert InvalidFeeRecipient(newFeeRecipient);
        emit FeeRecipientChanged(feeRecipient, newFeeRecipient);
        feeRecipient = newFeeRecipient;
    }
}
