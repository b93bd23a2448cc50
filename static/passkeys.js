/* Passkeys (« clés d'accès »): boxes shown where WebAuthn works, two JSON steps per ceremony
 * (cgos/passkeys/routes.py), the login's numéro field also offering them in its autofill. */
(function () {
  "use strict";

  var TRY_AGAIN = " Réessayez, ou connectez-vous avec votre numéro C.G.O.S et votre mot de passe.";
  var SIGN_IN_FAILED = "La connexion avec une clé d'accès a été annulée ou n'a pas abouti." + TRY_AGAIN;
  var CREATE_FAILED = "La création de la clé d'accès a été annulée ou n'a pas abouti. Vous pouvez réessayer.";
  var NETWORK = "Le serveur n'a pas pu être joint : vérifiez votre connexion à Internet, puis réessayez.";
  var autofill = null; // the AbortController of the login page's autofill request

  function bytes(text) {
    var binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, function (c) { return c.charCodeAt(0); }).buffer;
  }

  function text(buffer) {
    var binary = String.fromCharCode.apply(null, new Uint8Array(buffer));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The server's JSON options with their bytes decoded (`user` only at creation).
  function decode(json) {
    var options = Object.assign({}, json, { challenge: bytes(json.challenge) });
    ["excludeCredentials", "allowCredentials"].forEach(function (name) {
      options[name] = (json[name] || []).map(function (c) { return Object.assign({}, c, { id: bytes(c.id) }); });
    });
    if (json.user) {
      options.user = Object.assign({}, json.user, { id: bytes(json.user.id) });
    }
    return options;
  }

  function encode(credential) {
    var r = credential.response;
    var response = { clientDataJSON: text(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = text(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = text(r.authenticatorData);
      response.signature = text(r.signature);
      response.userHandle = r.userHandle ? text(r.userHandle) : null;
    }
    return { id: credential.id, rawId: text(credential.rawId), type: credential.type, response: response,
      authenticatorAttachment: credential.authenticatorAttachment || null, clientExtensionResults: {} };
  }

  function Refusal(message) {
    this.message = message;
  }

  function post(box, url, body) {
    var headers = { "Content-Type": "application/json", "X-CSRFToken": box.getAttribute("data-csrf-token") };
    return fetch(url, { method: "POST", headers: headers, body: JSON.stringify(body || {}) }).then(
      function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) {
            throw new Refusal(data.error || "Une erreur est survenue : réessayez dans quelques instants.");
          }
          return data;
        });
      },
      function () { throw new Refusal(NETWORK); }
    );
  }

  function say(box, message) {
    box.querySelector("[data-passkey-message]").textContent = message;
  }

  function explain(error, otherwise) {
    if (error instanceof Refusal) {
      return error.message;
    }
    return error && error.name === "InvalidStateError" ? "Cet appareil a déjà une clé d'accès pour votre compte." : otherwise;
  }

  // The ceremony of `box`: the options, the browser's `ask` with them, the answer; then the page it names.
  function ceremony(box, ask) {
    return post(box, box.getAttribute("data-options-url"))
      .then(function (options) { return ask(decode(options)); })
      .then(function (credential) {
        if (!credential) {
          throw new Error("none");
        }
        return post(box, box.getAttribute("data-url"), encode(credential));
      })
      .then(function (data) { window.location.assign(data.redirect); });
  }

  function offerInAutofill(box) {
    if (autofill) {
      autofill.abort();
    }
    var numero = document.querySelector("#login-form input[name=numero]");
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || !numero || !document.body.contains(box)) {
        return;
      }
      numero.setAttribute("autocomplete", "username webauthn");
      var controller = (autofill = new AbortController());
      ceremony(box, function (options) {
        return navigator.credentials.get({ publicKey: options, mediation: "conditional", signal: controller.signal });
      }).catch(function (error) {
        // Nobody asked for anything yet: only the server's refusal of a chosen passkey is said.
        if (error instanceof Refusal && !controller.signal.aborted) {
          say(box, error.message);
        }
      });
    });
  }

  function start(box) {
    var signIn = box.hasAttribute("data-passkey-sign-in");
    if (autofill) {
      autofill.abort();
      autofill = null;
    }
    say(box, "");
    ceremony(box, function (options) {
      return signIn ? navigator.credentials.get({ publicKey: options }) : navigator.credentials.create({ publicKey: options });
    }).catch(function (error) {
      say(box, explain(error, signIn ? SIGN_IN_FAILED : CREATE_FAILED));
      box.busy = false;
      if (signIn && PublicKeyCredential.isConditionalMediationAvailable) {
        offerInAutofill(box);
      }
    });
  }

  // Show the boxes of the page (loaded, or swapped in by htmx) where WebAuthn can work.
  function setUp() {
    var host = location.hostname;
    if (!window.PublicKeyCredential || /^[\d.]+$/.test(host) || host.indexOf(":") !== -1) {
      return;
    }
    document.querySelectorAll("[data-passkey-unsupported]").forEach(function (note) { note.hidden = true; });
    document.querySelectorAll("[data-passkey-sign-in], [data-passkey-create]").forEach(function (box) {
      if (box.hasAttribute("data-passkey-ready")) {
        return;
      }
      box.setAttribute("data-passkey-ready", "");
      box.hidden = false;
      if (box.hasAttribute("data-passkey-sign-in") && PublicKeyCredential.isConditionalMediationAvailable) {
        offerInAutofill(box);
      }
    });
  }

  document.addEventListener("click", function (event) {
    var box = event.target.closest("[data-passkey-start]");
    box = box && box.closest("[data-passkey-ready]");
    if (box && !box.busy) {
      box.busy = true;
      start(box);
    }
  });
  document.addEventListener("DOMContentLoaded", setUp);
  document.addEventListener("htmx:after:settle", setUp);
})();
