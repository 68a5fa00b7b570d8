/* Kassa browser-wallet payment: EIP-6963 discovery (window.ethereum fallback), chain switch
   (4902 -> wallet_addEthereumChain), ERC-20 allowance + approve, then the contract's `pay`.
   Vanilla ES2020, no build step. The chain is the truth: the tx hash sent back is a hint. */
(function () {
  "use strict";
  var providers = [];  // [{info, provider}] announced via EIP-6963

  window.addEventListener("eip6963:announceProvider", function (event) {
    var detail = event.detail;
    if (!detail || !detail.provider || !detail.info) return;
    for (var i = 0; i < providers.length; i++) {
      if (providers[i].info.uuid === detail.info.uuid) return;
    }
    providers.push({ info: detail.info, provider: detail.provider });
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));

  function $(id) { return document.getElementById(id); }

  // The texts of the pay step being paid, in the page's language: evm/pay.html renders them
  // into the button's data-messages (JSON, key -> text with `%(name)s` placeholders).
  var messages = {};

  function readMessages(button) {
    try {
      var parsed = JSON.parse(button.getAttribute("data-messages") || "{}");
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch (error) {
      return {};  // a broken attribute costs the translation, never the payment
    }
  }

  // The message `key` in the page's language, else `english`, with placeholders filled.
  function text(key, english, values) {
    var template = typeof messages[key] === "string" && messages[key] ? messages[key] : english;
    return template.replace(/%\((\w+)\)s/g, function (placeholder, name) {
      return values && Object.prototype.hasOwnProperty.call(values, name)
        ? String(values[name]) : placeholder;
    });
  }

  function say(text, isError) {
    var box = $("wallet-message");
    if (!box) return;
    box.textContent = text;
    box.className = "wallet-message" + (isError ? " error" : "");
  }

  function errorCode(error) {
    if (!error) return null;
    if (typeof error.code === "number") {
      // Some wallets wrap the real code (e.g. 4902) in a generic -32603 error.
      var nested = error.data && error.data.originalError && error.data.originalError.code;
      if (error.code === -32603 && typeof nested === "number") return nested;
      return error.code;
    }
    return null;
  }

  function describe(error, chainName) {
    var code = errorCode(error);
    var message = String((error && error.message) || "");
    if (code === 4001) return text("rejected", "You rejected the request in your wallet.");
    if (code === 4100) {
      return text("unauthorized", "Your wallet has not authorised this page. Unlock it and allow the connection.");
    }
    if (code === -32002) return text("busy", "Your wallet is already showing a request. Open it to continue.");
    if (code === 4900 || code === 4901) {
      return text("disconnected", "Your wallet is disconnected from the network.");
    }
    if (code === 4902) {
      return text("unknown_chain", "Your wallet does not know %(network)s. Add it in the wallet, then retry.",
        { network: chainName });
    }
    if (/insufficient funds|exceeds balance|InsufficientBalance/i.test(message)) {
      return text("insufficient_funds", "Not enough funds in this account to pay and cover the network fee.");
    }
    if (error && error.kassa) return message;
    // The wallet's own words stay as it wrote them: only the sentence around them is ours.
    return text("wallet_error", "The wallet reported an error: %(detail)s.",
      { detail: message || text("unknown_error", "unknown error") });
  }

  function fail(text) { var e = new Error(text); e.kassa = true; return e; }

  function pad32(hex) { return hex.replace(/^0x/, "").toLowerCase().padStart(64, "0"); }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  async function waitForReceipt(provider, hash) {
    for (var i = 0; i < 180; i++) {
      var receipt = await provider.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (receipt) {
        if (receipt.status !== "0x1") {
          throw fail(text("tx_failed", "The transaction %(hash)s failed on chain.", { hash: hash }));
        }
        return receipt;
      }
      await sleep(1000);
    }
    throw fail(text("not_mined", "The transaction was not mined in time; check your wallet, then retry."));
  }

  async function ensureChain(provider, d) {
    var current = await provider.request({ method: "eth_chainId" });
    if (String(current).toLowerCase() === d.chainId.toLowerCase()) return;
    say(text("switching", "Switching your wallet to %(network)s…", { network: d.chainName }));
    try {
      await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: d.chainId }] });
    } catch (error) {
      if (errorCode(error) !== 4902 || !d.rpcUrl) throw error;
      say(text("adding", "Adding %(network)s to your wallet…", { network: d.chainName }));
      var params = {
        chainId: d.chainId,
        chainName: d.chainName,
        rpcUrls: [d.rpcUrl],
        nativeCurrency: { name: d.nativeSymbol, symbol: d.nativeSymbol, decimals: d.nativeDecimals }
      };
      if (d.explorerUrl) params.blockExplorerUrls = [d.explorerUrl];
      await provider.request({ method: "wallet_addEthereumChain", params: [params] });
      await provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId: d.chainId }] });
    }
    current = await provider.request({ method: "eth_chainId" });
    if (String(current).toLowerCase() !== d.chainId.toLowerCase()) {
      throw fail(text("wrong_network", "Your wallet is on another network. Switch it to %(network)s and retry.",
        { network: d.chainName }));
    }
  }

  async function callUint(provider, to, data) {
    var result = await provider.request({ method: "eth_call", params: [{ to: to, data: data }, "latest"] });
    return BigInt(result && result !== "0x" ? result : "0x0");
  }

  async function send(provider, tx) {
    return provider.request({ method: "eth_sendTransaction", params: [tx] });
  }

  async function approveIfNeeded(provider, account, d) {
    if (!d.approveToken) return;
    var need = BigInt(d.approveAmount);
    var balance = await callUint(provider, d.approveToken, "0x70a08231" + pad32(account));
    if (balance < need) {
      throw fail(text("not_enough", "Not enough %(symbol)s in this account for this payment.", { symbol: d.symbol }));
    }
    var allowance = await callUint(
      provider, d.approveToken, "0xdd62ed3e" + pad32(account) + pad32(d.approveSpender));
    if (allowance >= need) return;
    if (allowance > 0n) {
      // USDT-like tokens refuse to change a non-zero allowance: reset it first.
      say(text("reset_allowance", "Step 1 of 3: confirm resetting the %(symbol)s allowance in your wallet…",
        { symbol: d.symbol }));
      await waitForReceipt(provider, await send(provider, {
        from: account, to: d.approveToken,
        data: "0x095ea7b3" + pad32(d.approveSpender) + pad32("0x0")
      }));
    }
    say(text("approve", "Confirm the %(symbol)s approval in your wallet…", { symbol: d.symbol }));
    var hash = await send(provider, {
      from: account, to: d.approveToken,
      data: "0x095ea7b3" + pad32(d.approveSpender) + pad32(need.toString(16))
    });
    say(text("approval_mining", "Waiting for the approval to be mined…"));
    await waitForReceipt(provider, hash);
  }

  function readPayData(button) {
    var a = function (name) { return button.getAttribute("data-" + name) || ""; };
    return {
      payment: a("payment"), chainId: a("chain-id"), chainName: a("chain-name"),
      rpcUrl: a("rpc-url"), explorerUrl: a("explorer-url"), nativeSymbol: a("native-symbol"),
      nativeDecimals: parseInt(a("native-decimals") || "18", 10),
      to: a("to"), data: a("data"), value: a("value") || "0x0",
      approveToken: a("approve-token"), approveSpender: a("approve-spender"),
      approveAmount: a("approve-amount"), txUrl: a("tx-url"),
      symbol: a("symbol")
    };
  }

  function reportHash(d, hash) {
    document.dispatchEvent(new CustomEvent("kassa:txSent", { detail: { hash: hash } }));
    if (!d.txUrl) return;  // a transfer without a hint route (a refund from the dashboard)
    var root = $("checkout");
    var csrf = root ? root.getAttribute("data-csrf") : "";
    fetch(d.txUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ tx_hash: hash, payment_id: d.payment })
    }).catch(function () { /* a hint only: the watcher finds the payment on chain anyway */ });
  }

  async function payWith(provider, button) {
    var d = readPayData(button);
    button.disabled = true;
    try {
      say(text("connecting", "Connecting to your wallet…"));
      var accounts = await provider.request({ method: "eth_requestAccounts" });
      if (!accounts || !accounts.length) {
        throw fail(text("no_account", "Your wallet shared no account. Unlock it and retry."));
      }
      var account = accounts[0];
      await ensureChain(provider, d);
      await approveIfNeeded(provider, account, d);
      if (!d.approveToken) {
        var balance = BigInt(await provider.request({ method: "eth_getBalance", params: [account, "latest"] }));
        if (balance < BigInt(d.value)) {
          throw fail(text("not_enough", "Not enough %(symbol)s in this account for this payment.",
            { symbol: d.nativeSymbol }));
        }
      }
      say(text("confirm_payment", "Confirm the payment in your wallet…"));
      var hash = await send(provider, { from: account, to: d.to, data: d.data, value: d.value });
      say(text("sent", "Payment sent (%(hash)s…). Waiting for confirmations.", { hash: hash.slice(0, 10) }));
      button.hidden = true;
      reportHash(d, hash);
    } catch (error) {
      say(describe(error, d.chainName), true);
      button.textContent = text("try_again", "Try again");
      button.disabled = false;
      button.focus();
    }
  }

  function choose(button) {
    messages = readMessages(button);
    if (providers.length === 1) return payWith(providers[0].provider, button);
    if (providers.length > 1) return showPicker(button);
    if (window.ethereum) return payWith(window.ethereum, button);
    say(text("no_wallet", "No browser wallet found. Scan the QR code with a phone wallet, or install a wallet extension."),
      true);
  }

  function showPicker(button) {
    var picker = $("wallet-picker");
    picker.textContent = "";
    var label = document.createElement("p");
    label.textContent = text("choose_wallet", "Choose a wallet:");
    picker.appendChild(label);
    providers.forEach(function (entry) {
      var b = document.createElement("button");
      b.type = "button";
      if (entry.info.icon && /^data:image\//.test(entry.info.icon)) {
        var img = document.createElement("img");  // icons only ever as <img>, never markup
        img.src = entry.info.icon;
        img.alt = "";
        b.appendChild(img);
      }
      b.appendChild(document.createTextNode(entry.info.name || text("wallet", "Wallet")));
      b.addEventListener("click", function () {
        picker.hidden = true;
        payWith(entry.provider, button);
      });
      picker.appendChild(b);
    });
    picker.hidden = false;
    var first = picker.querySelector("button");
    if (first) first.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-kassa-pay]");
    if (button && !button.disabled) choose(button);
  });

  // The button is useless without this script, so only this script reveals it.
  function reveal() {
    var buttons = document.querySelectorAll("[data-kassa-pay]");
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = false;
  }
  document.addEventListener("htmx:afterSettle", reveal);
  reveal();
})();
