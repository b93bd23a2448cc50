/* Espace Agent C.G.O.S: small enhancements on top of pages that work without JavaScript.
 *
 * - Keypad: with JavaScript a key press only records the key's opaque token in
 *   the form (no request, nothing lost, order kept); « Valider » sends them all
 *   at once. Without JavaScript each key is a submit button handled by the server.
 *   « Effacer » removes the last token, « Corriger » all of them.
 * - « Afficher le mot de passe »: shows or hides the password fields at once; the
 *   `js` class on <html> reveals it (and any .js-only control), hidden without JavaScript.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function keypadParts(element) {
    var form = element.closest("form");
    var fieldset = form && form.querySelector("[data-keypad]");
    if (!fieldset) {
      return null;
    }
    return {
      input: form.querySelector("[data-keypad-pressed]"),
      dots: fieldset.querySelectorAll("[data-keypad-dots] .dot"),
      status: fieldset.querySelector("[data-keypad-status]"),
      length: parseInt(fieldset.getAttribute("data-pin-length"), 10) || 6
    };
  }

  function tokens(parts) {
    var value = parts.input.value.trim();
    return value ? value.split(/\s+/) : [];
  }

  function show(parts, list) {
    parts.input.value = list.join(" ");
    for (var i = 0; i < parts.dots.length; i++) {
      parts.dots[i].classList.toggle("dot--filled", i < list.length);
    }
    var noun = list.length < 2 ? " chiffre saisi sur " : " chiffres saisis sur ";
    parts.status.textContent = list.length + noun + parts.length;
  }

  document.addEventListener("click", function (event) {
    var key = event.target.closest("[data-keypad-key]");
    var clear = key ? null : event.target.closest("[data-keypad-clear]");
    var erase = key || clear ? null : event.target.closest("[data-keypad-erase]");
    var control = key || clear || erase;
    var parts = control && keypadParts(control);
    if (!parts) {
      return;
    }
    event.preventDefault();
    var list = clear ? [] : tokens(parts);
    if (key && list.length < parts.length) {
      list.push(key.value);
    }
    if (erase) {
      list.pop();
    }
    show(parts, list);
  });

  document.addEventListener("change", function (event) {
    var toggle = event.target.closest("[data-password-toggle-switch]");
    if (!toggle) {
      return;
    }
    var fields = toggle.form.querySelectorAll("[data-password-field]");
    for (var i = 0; i < fields.length; i++) {
      fields[i].type = toggle.checked ? "text" : "password";
    }
  });
})();
