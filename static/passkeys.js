// Gatehouse passkeys: a small first-party script (no framework, nothing inline). Every
// page works without it; with it, the passkey controls appear where the browser has
// WebAuthn.
//
// A form that posts a passkey carries `data-passkey-options`: the JSON the server made
// for this ceremony ({"publicKey": {...}}, binary fields base64url), and `data-passkey`
// ("create" or "get"). Its [data-passkey-start] button (or, with [data-passkey-submit],
// its submit) runs the ceremony
// and posts the answer in the hidden `credential` field, as JSON with base64url fields.
// Fields marked [data-passkey-replaces] (a code the passkey stands in for) are then not
// required. Elements marked [data-passkey-only] are shown, and [data-passkey-unsupported]
// hidden, once WebAuthn is known to be there. On the sign-in page, the username field
// also offers passkeys (autocomplete="username webauthn", conditional mediation).
//
// Also: a "show password" toggle for every [data-show-password] button.
(function () {
  "use strict";

  function fromB64url(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buf) {
    if (!buf) return null;
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The options as the browser takes them: binary fields as ArrayBuffers.
  function creationOptions(json) {
    var pk = json.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(json) {
    var pk = json.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return { publicKey: pk };
  }

  // The answer as the server reads it (webauthn-rs): base64url binary fields.
  function encodeCredential(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      out.response.userHandle = toB64url(r.userHandle);
    }
    // credProps and friends hold no binary: leave them as the browser gave them.
    return JSON.stringify(out);
  }

  function optionsOf(form) {
    return JSON.parse(form.getAttribute("data-passkey-options"));
  }

  function post(form, cred) {
    form.querySelector("input[name=credential]").value = encodeCredential(cred);
    var remember = document.querySelector("input[type=checkbox][name=remember]");
    var hidden = form.querySelector("input[type=hidden][name=remember]");
    if (remember && hidden) hidden.value = remember.checked ? "true" : "false";
    form.submit();
  }

  function showError(form, err) {
    var box = form.querySelector("[data-passkey-error]");
    if (box && err && err.name !== "AbortError") box.hidden = false;
  }

  var conditional = null; // the AbortController of the sign-in page's autofill request

  function run(form) {
    form.querySelectorAll("[data-passkey-replaces]").forEach(function (el) {
      el.required = false;
    });
    if (!form.reportValidity()) return;
    if (conditional) { conditional.abort(); conditional = null; }
    var json = optionsOf(form);
    var ceremony;
    if (form.getAttribute("data-passkey") === "create") {
      ceremony = navigator.credentials.create(creationOptions(json));
    } else {
      delete json.mediation;
      ceremony = navigator.credentials.get(requestOptions(json));
    }
    ceremony.then(function (cred) {
      if (cred) post(form, cred);
    }, function (err) { showError(form, err); });
  }

  function startConditional(form) {
    var json = optionsOf(form);
    if (json.mediation !== "conditional" || !PublicKeyCredential.isConditionalMediationAvailable) {
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
      if (!ok) return;
      conditional = new AbortController();
      var options = requestOptions(json);
      options.mediation = "conditional";
      options.signal = conditional.signal;
      navigator.credentials.get(options).then(function (cred) {
        if (cred) post(form, cred);
      }, function () { /* dismissed or aborted: the button still works */ });
    });
  }

  function passkeys() {
    if (!window.PublicKeyCredential || !navigator.credentials) return;
    document.querySelectorAll("[data-passkey-only]").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (el) { el.hidden = true; });
    document.querySelectorAll("form[data-passkey-options]").forEach(function (form) {
      form.hidden = false;
      form.querySelectorAll("[data-passkey-start]").forEach(function (button) {
        button.hidden = false;
        button.addEventListener("click", function (e) { e.preventDefault(); run(form); });
      });
      if (form.hasAttribute("data-passkey-submit")) {
        form.addEventListener("submit", function (e) {
          if (!form.querySelector("input[name=credential]").value) { e.preventDefault(); run(form); }
        });
      }
      if (form.hasAttribute("data-passkey-autofill")) startConditional(form);
    });
  }

  function showPassword() {
    document.querySelectorAll("[data-show-password]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-show-password"));
      if (!input) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var show = input.type === "password";
        input.type = show ? "text" : "password";
        button.setAttribute("aria-pressed", show ? "true" : "false");
      });
    });
  }

  function start() { passkeys(); showPassword(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
