/* Espace Agent C.G.O.S: passkeys (« clés d'accès ») through the browser's own WebAuthn API.
 *
 * The controls come `hidden` from the server and are shown only where
 * `window.PublicKeyCredential` exists: without JavaScript or WebAuthn, nothing
 * changes. Each ceremony is two JSON requests (options, then the browser's answer)
 * with the CSRF token in the X-CSRFToken header; bytes travel as base64url.
 *
 * - `[data-passkey-sign-in]` (login page): « Se connecter avec une clé d'accès »;
 *   where the browser supports it, the passkeys are also offered in the numéro
 *   field's autofill (conditional mediation), aborted when the button is used.
 * - `[data-passkey-create]` (home, « Mes clés d'accès »): « Créer une clé d'accès ».
 *
 * A refusal by the browser, a cancellation or the server's refusal is said in French in
 * the box's live region (`[data-passkey-message]`, aria-live="assertive").
 */
(function () {
  "use strict";

  var MESSAGES = {
    signInCancelled:
      "La connexion avec une clé d'accès a été annulée ou n'a pas abouti. Réessayez, ou connectez-vous avec votre numéro C.G.O.S et votre mot de passe.",
    createCancelled: "La création de la clé d'accès a été annulée ou n'a pas abouti. Vous pouvez réessayer.",
    alreadyThere: "Cet appareil a déjà une clé d'accès pour votre compte.",
    refused: "Votre navigateur refuse les clés d'accès sur cette adresse du site.",
    network: "Le serveur n'a pas pu être joint : vérifiez votre connexion à Internet, puis réessayez.",
    server: "Une erreur est survenue : réessayez dans quelques instants."
  };

  // The autofill request of the login page, if one is waiting: { controller: AbortController }.
  var autofill = null;

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

  function descriptors(list) {
    return (list || []).map(function (item) {
      return { type: item.type, id: toBytes(item.id), transports: item.transports };
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults ? credential.getClientExtensionResults() : {},
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = response.userHandle ? toText(response.userHandle) : null;
    }
    return json;
  }

  function ServerRefusal(message) {
    this.message = message;
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
              throw new ServerRefusal(data.error || MESSAGES.server);
            }
            return data;
          });
      },
      function () {
        throw new ServerRefusal(MESSAGES.network);
      }
    );
  }

  function say(box, text) {
    box.querySelector("[data-passkey-message]").textContent = text;
  }

  function explain(error, cancelled) {
    if (error instanceof ServerRefusal) {
      return error.message;
    }
    if (error && error.name === "InvalidStateError") {
      return MESSAGES.alreadyThere;
    }
    if (error && error.name === "SecurityError") {
      return MESSAGES.refused;
    }
    return cancelled;
  }

  function stopAutofill() {
    if (autofill) {
      autofill.controller.abort();
      autofill = null;
    }
  }

  function finishSignIn(box, credential) {
    if (!credential) {
      throw new Error("no credential");
    }
    return post(box, box.getAttribute("data-url"), credentialJSON(credential)).then(function (data) {
      window.location.assign(data.redirect);
    });
  }

  // The passkeys offered in the numéro field's autofill, while the login page is shown.
  function offerInAutofill(box) {
    stopAutofill();
    var form = document.getElementById("login-form");
    var numero = form && form.querySelector("input[name=numero]");
    if (!numero) {
      return;
    }
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (!available || !document.body.contains(box)) {
        return;
      }
      numero.setAttribute("autocomplete", "username webauthn");
      var request = { controller: new AbortController() };
      autofill = request;
      post(box, box.getAttribute("data-options-url"))
        .then(function (options) {
          return navigator.credentials.get({
            publicKey: requestOptions(options),
            mediation: "conditional",
            signal: request.controller.signal
          });
        })
        .then(function (credential) {
          autofill = null;
          return finishSignIn(box, credential);
        })
        .catch(function (error) {
          if (request.controller.signal.aborted) {
            return;
          }
          autofill = null;
          // Nobody asked for anything yet: only the server's refusal of a chosen passkey is said.
          if (error instanceof ServerRefusal) {
            say(box, error.message);
          }
        });
    });
  }

  function signIn(box) {
    stopAutofill();
    say(box, "");
    post(box, box.getAttribute("data-options-url"))
      .then(function (options) {
        return navigator.credentials.get({ publicKey: requestOptions(options) });
      })
      .then(function (credential) {
        return finishSignIn(box, credential);
      })
      .catch(function (error) {
        say(box, explain(error, MESSAGES.signInCancelled));
        box.busy = false;
        offerInAutofill(box);
      });
  }

  function create(box) {
    say(box, "");
    post(box, box.getAttribute("data-options-url"))
      .then(function (options) {
        return navigator.credentials.create({ publicKey: creationOptions(options) });
      })
      .then(function (credential) {
        if (!credential) {
          throw new Error("no credential");
        }
        return post(box, box.getAttribute("data-url"), credentialJSON(credential));
      })
      .then(function (data) {
        window.location.assign(data.redirect);
      })
      .catch(function (error) {
        say(box, explain(error, MESSAGES.createCancelled));
        box.busy = false;
      });
  }

  // Show the controls of the page (a whole page, or content htmx swapped in) where WebAuthn exists.
  function setUp() {
    // Browsers refuse an IP address as RP ID: on http://127.0.0.1 the controls stay hidden (use localhost).
    var onAddress = /^[\d.]+$/.test(location.hostname) || location.hostname.indexOf(":") !== -1;
    if (!window.PublicKeyCredential || !navigator.credentials || onAddress) {
      return;
    }
    var notes = document.querySelectorAll("[data-passkey-unsupported]");
    for (var i = 0; i < notes.length; i++) {
      notes[i].hidden = true;
    }
    var boxes = document.querySelectorAll("[data-passkey-sign-in], [data-passkey-create]");
    for (var j = 0; j < boxes.length; j++) {
      var box = boxes[j];
      if (box.hasAttribute("data-passkey-ready")) {
        continue;
      }
      box.setAttribute("data-passkey-ready", "");
      box.hidden = false;
      if (box.hasAttribute("data-passkey-sign-in") && PublicKeyCredential.isConditionalMediationAvailable) {
        offerInAutofill(box);
      }
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-passkey-start]");
    var box = button && button.closest("[data-passkey-ready]");
    if (!box || box.busy) {
      return;
    }
    box.busy = true;
    if (box.hasAttribute("data-passkey-sign-in")) {
      signIn(box);
    } else {
      create(box);
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
  document.addEventListener("htmx:after:settle", setUp);
  document.addEventListener("htmx:after:swap", setUp);
})();
