/* Espace Agent C.G.O.S: dates typed on a digit pad (the iPhone's has no « / »).
 *
 * In a field marked `data-date-input`, digits typed at the end get their slashes as
 * they come: `14031985` shows as `14/03/1985`. The server reads the digits alone as
 * well, so without JavaScript nothing is lost. The script stays out of the way: it
 * only adds slashes, does nothing on a deletion, when the cursor is not at the end, or when the text
 * holds anything but digits and slashes where they belong (`14-03-1985`, `1/3/1985`
 * and other pasted or typed forms are left as they are).
 */
(function () {
  "use strict";

  // Up to 8 digits, with or without a slash after the day and the month.
  var FORMATTABLE = /^(?:\d\d\/?){0,2}\d{0,4}$/;

  function withSlashes(digits) {
    var text = digits.slice(0, 2);
    if (digits.length > 2) {
      text += "/" + digits.slice(2, 4);
    }
    if (digits.length > 4) {
      text += "/" + digits.slice(4, 8);
    }
    return text;
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-date-input]")) {
      return;
    }
    if (event.inputType && event.inputType.indexOf("delete") === 0) {
      return;
    }
    var value = input.value;
    var atEnd = input.selectionStart === value.length && input.selectionEnd === value.length;
    if (!atEnd || !FORMATTABLE.test(value)) {
      return;
    }
    var text = withSlashes(value.replace(/\//g, ""));
    // Slashes are only ever added: one the person typed is never taken away.
    if (text.length > value.length) {
      input.value = text;
      input.setSelectionRange(text.length, text.length);
    }
  });
})();
