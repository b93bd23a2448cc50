/* Espace Agent C.G.O.S: a staff member's passkey as the second factor (« Utiliser ma clé d'accès »).
 *
 * On the back office's second step, for a staff member who has a passkey, the box
 * `[data-staff-passkey]` comes `hidden` and is shown only where `window.PublicKeyCredential`
 * exists; the code form (`[data-code-step]`) is then hidden, reached by the box's links (a
 * page of its own). Without JavaScript or WebAuthn the code form stays as it is. Two JSON
 * requests (options, then the browser's answer) with the CSRF token in X-CSRFToken, bytes as
 * base64url. Creating a staff passkey is static/passkeys.js's `[data-passkey-create]`.
 *
 * Not in the bundle (the agents' first load has no room for it): the second step's page
 * loads it, and htmx runs it again when that page is swapped in, hence the guard.
 */
(function () {
  "use strict";

  if (window.cgosStaffPasskeys) {
    window.cgosStaffPasskeys.setUp();
    return;
  }

  var MESSAGES = {
    cancelled:
      "La vérification avec votre clé d'accès a été annulée ou n'a pas abouti. Réessayez, ou saisissez un code de vérification.",
    network: "Le serveur n'a pas pu être joint : vérifiez votre connexion à Internet, puis réessayez.",
    server: "Une erreur est survenue : réessayez dans quelques instants."
  };

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = (json.allowCredentials || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
    return options;
  }

  function assertionJSON(credential) {
    var response = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: {
        clientDataJSON: toText(response.clientDataJSON),
        authenticatorData: toText(response.authenticatorData),
        signature: toText(response.signature),
        userHandle: response.userHandle ? toText(response.userHandle) : null
      }
    };
  }

  // The server's refusal: its French message, and where to go when the password step expired.
  function Refusal(message, redirect) {
    this.message = message;
    this.redirect = redirect;
  }

  function post(box, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": box.getAttribute("data-csrf-token")
      },
      body: JSON.stringify(body || {})
    }).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            if (!response.ok) {
              throw new Refusal(data.error || MESSAGES.server, data.redirect);
            }
            return data;
          });
      },
      function () {
        throw new Refusal(MESSAGES.network);
      }
    );
  }

  function say(box, text) {
    box.querySelector("[data-staff-passkey-message]").textContent = text;
  }

  function verify(box) {
    say(box, "");
    post(box, box.getAttribute("data-options-url"))
      .then(function (options) {
        return navigator.credentials.get({ publicKey: requestOptions(options) });
      })
      .then(function (credential) {
        if (!credential) {
          throw new Error("no credential");
        }
        return post(box, box.getAttribute("data-url"), assertionJSON(credential));
      })
      .then(function (data) {
        window.location.assign(data.redirect);
      })
      .catch(function (error) {
        if (error instanceof Refusal && error.redirect) {
          window.location.assign(error.redirect);
          return;
        }
        say(box, error instanceof Refusal ? error.message : MESSAGES.cancelled);
        box.busy = false;
      });
  }

  // Offer the passkey first where WebAuthn exists (a whole page, or content htmx swapped in).
  function setUp() {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      return;
    }
    var box = document.querySelector("[data-staff-passkey]:not([data-staff-passkey-ready])");
    if (!box) {
      return;
    }
    box.setAttribute("data-staff-passkey-ready", "");
    box.hidden = false;
    var codeStep = document.querySelector("[data-code-step]");
    if (codeStep) {
      codeStep.hidden = true;
    }
  }

  window.cgosStaffPasskeys = { setUp: setUp };

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-staff-passkey-start]");
    var box = button && button.closest("[data-staff-passkey-ready]");
    if (!box || box.busy) {
      return;
    }
    box.busy = true;
    verify(box);
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
  document.addEventListener("htmx:after:settle", setUp);
  document.addEventListener("htmx:after:swap", setUp);
})();
