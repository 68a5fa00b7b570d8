"""Base, Arbitrum One, OP Mainnet and their Sepolia testnets, as three `EvmPlugin`s.

All six are rollups settling on Ethereum with ETH as the native coin. Their nodes report a
meaningful `finalized` tag: the block's batch is in a finalized L1 block (typically 15-30 min
after the transaction). Before that the sequencer can still reorganise the chain, so by
default a payment is final at the tag, not at a depth. `confirmations` is then only what the
checkout page counts while it waits; it becomes the real depth if the operator sets
`finality = "confirmations"` (and `confirmations = N` to change it).

Facts from the chains' own docs (chain ids, names, explorers, public RPCs, block times,
finality) cross-checked with ethereum-lists/chains and viem; USDC in plugins/erc20.
"""

from __future__ import annotations

from plugins.evm import ChainSpec, EvmPlugin

# About two minutes of blocks, which is when a batch usually lands on L1 (the `safe` tag):
# 60 blocks of the OP Stack's fixed 2 s, 480 of Arbitrum's ~0.25 s. Arbitrum makes blocks only
# when there are transactions, so its depth is a weak guard there (its docs say wait on the
# tag); prefer the default `finalized`.
OP_STACK_DEPTH = 60
ARBITRUM_DEPTH = 480


def _rollup(
    key: str,
    chain_id: int,
    name: str,
    *,
    testnet: bool,
    confirmations: int,
    explorer_url: str,
    public_rpc_url: str,
) -> ChainSpec:
    """A rollup's spec: native ETH, finalized tag by default, polled every 2 s."""
    return ChainSpec(
        key=key,
        chain_id=chain_id,
        name=name,
        testnet=testnet,
        native_symbol="ETH",
        native_name="Sepolia Ether" if testnet else "Ether",
        confirmations=confirmations,
        explorer_url=explorer_url,
        # One OP Stack block (about eight of Arbitrum's): a payment shows up within seconds.
        poll_interval=2.0,
        # Within what paid RPC plans answer; the network halves it if a provider refuses.
        max_log_range=2_000,
        finalized_tag=True,
        public_rpc_url=public_rpc_url,
    )


BASE_SPECS = (
    _rollup(
        "base",
        8453,
        "Base",
        testnet=False,
        confirmations=OP_STACK_DEPTH,
        explorer_url="https://basescan.org",
        public_rpc_url="https://mainnet.base.org",
    ),
    _rollup(
        "base_sepolia",
        84532,
        "Base Sepolia",
        testnet=True,
        confirmations=OP_STACK_DEPTH,
        explorer_url="https://sepolia.basescan.org",
        public_rpc_url="https://sepolia.base.org",
    ),
)

ARBITRUM_SPECS = (
    _rollup(
        "arbitrum",
        42161,
        "Arbitrum One",
        testnet=False,
        confirmations=ARBITRUM_DEPTH,
        explorer_url="https://arbiscan.io",
        public_rpc_url="https://arb1.arbitrum.io/rpc",
    ),
    _rollup(
        "arbitrum_sepolia",
        421614,
        "Arbitrum Sepolia",
        testnet=True,
        confirmations=ARBITRUM_DEPTH,
        explorer_url="https://sepolia.arbiscan.io",
        public_rpc_url="https://sepolia-rollup.arbitrum.io/rpc",
    ),
)

OPTIMISM_SPECS = (
    _rollup(
        "optimism",
        10,
        "OP Mainnet",
        testnet=False,
        confirmations=OP_STACK_DEPTH,
        explorer_url="https://optimistic.etherscan.io",
        public_rpc_url="https://mainnet.optimism.io",
    ),
    _rollup(
        "optimism_sepolia",
        11155420,
        "OP Sepolia",
        testnet=True,
        confirmations=OP_STACK_DEPTH,
        # Sources disagree on Etherscan's hostname for OP Sepolia; Blockscout's is unambiguous.
        explorer_url="https://optimism-sepolia.blockscout.com",
        public_rpc_url="https://sepolia.optimism.io",
    ),
)

# Each is registered under its own entry point (pyproject.toml), so an operator's `plugins`
# allow-list can load one family without the others.
base = EvmPlugin("base", BASE_SPECS, coingecko_ids={"ETH": "ethereum"})
arbitrum = EvmPlugin("arbitrum", ARBITRUM_SPECS, coingecko_ids={"ETH": "ethereum"})
optimism = EvmPlugin("optimism", OPTIMISM_SPECS, coingecko_ids={"ETH": "ethereum"})
