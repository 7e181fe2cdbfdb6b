// Confirmation modals (hopen/confirmation.py, templates/includes/confirm_modal.html). Without JavaScript an action
// button submits its form and the server answers with the modal opened; once the DSFR script runs, the buttons that
// carry `data-hopen-confirm` open their modal in place (data-fr-opened / aria-controls) instead of submitting, and
// only the modal's « Confirmer » submits the form.
(function () {
  "use strict";
  function enhance() {
    if (!window.dsfr) {
      return;
    }
    document.querySelectorAll("button[data-hopen-confirm]").forEach(function (button) {
      button.type = "button";
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
})();
