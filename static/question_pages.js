/* Espace Agent C.G.O.S: question pages and the establishment chooser, once JavaScript runs.
 *
 * - An error goes as soon as its answer changes: in a form marked `data-clear-errors` (and in
 *   the establishment chooser), typing in a field in error, or changing its choice, takes away
 *   its message, its aria-invalid and its line of the error summary (the summary itself, and
 *   « Erreur : » in the title, once it has no line left). Without JavaScript the next
 *   submission renders the page again, with only the errors that remain.
 * - In the chooser, Enter in « Ville de votre établissement » or « Nom de votre établissement »
 *   searches (its « Rechercher » button) instead of sending the page. A choice or « Changer »
 *   swaps the chooser in place (htmx); the errors it no longer shows leave the summary too.
 *
 * Not in the bundle (the first load of the tabs has no room for it): the question pages and
 * the chooser load it, and htmx runs it again when such a page is swapped in, hence the guard.
 */
(function () {
  "use strict";

  if (window.cgosQuestionPages) {
    return;
  }
  window.cgosQuestionPages = true;

  var CHOOSER = "[data-establishment-chooser]";

  function clearsErrors(element) {
    return element.closest && element.closest("[data-clear-errors], " + CHOOSER) !== null;
  }

  function dropSummaryLines() {
    var summary = document.querySelector(".error-summary");
    if (!summary) {
      return;
    }
    var links = summary.querySelectorAll("li a[href^='#']");
    for (var i = 0; i < links.length; i++) {
      var field = document.getElementById(links[i].getAttribute("href").slice(1));
      if (!field || field.getAttribute("aria-invalid") !== "true") {
        links[i].closest("li").remove();
      }
    }
    if (!summary.querySelector("li")) {
      summary.remove();
      document.title = document.title.replace(/^Erreur : /, "");
    }
  }

  function clearError(field) {
    if (field.getAttribute("aria-invalid") !== "true") {
      return;
    }
    var messageId = field.id + "-error";
    var message = document.getElementById(messageId);
    if (message) {
      message.remove();
    }
    field.removeAttribute("aria-invalid");
    var described = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (id) {
      return id && id !== messageId;
    });
    if (described.length) {
      field.setAttribute("aria-describedby", described.join(" "));
    } else {
      field.removeAttribute("aria-describedby");
    }
    var wrapper = field.closest(".field--error");
    if (wrapper) {
      wrapper.classList.remove("field--error");
    }
    dropSummaryLines();
  }

  function answerChanged(event) {
    var field = event.target;
    if (field.id && clearsErrors(field)) {
      clearError(field);
    }
  }

  document.addEventListener("input", answerChanged);
  document.addEventListener("change", answerChanged);

  document.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key !== "Enter" || !field.closest || !field.closest(CHOOSER + " .search-field")) {
      return;
    }
    var search = field.closest(".search-field").querySelector("[data-search-button]");
    if (search) {
      event.preventDefault();
      search.click();
    }
  });

  // The page swapped in earlier keeps its heading's autofocus: once the chooser's own
  // autofocus has taken the focus, the page must not name two (the HTML checker's rule).
  function keepOneAutofocus(swapped) {
    if (!swapped.querySelector("[autofocus]")) {
      return;
    }
    var marked = document.querySelectorAll("[autofocus]");
    for (var i = 0; i < marked.length; i++) {
      if (!swapped.contains(marked[i])) {
        marked[i].removeAttribute("autofocus");
      }
    }
  }

  document.addEventListener("htmx:after:swap", function (event) {
    if (event.target && event.target.closest && event.target.closest(CHOOSER)) {
      dropSummaryLines();
      keepOneAutofocus(event.target);
    }
  });
})();
