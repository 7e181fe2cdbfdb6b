/*
 * AMI tab (annex 5), progressive enhancement only: every form works without this script.
 * - The HN forecast semester is shown only when the HN prerequisites are « Non » (annex 5: « Si non, … »).
 * - Leaving the page with unsaved changes in the pre-candidature form asks for confirmation (nothing typed lost).
 * - Forms with a `data-confirm` text ask before posting (validation, deletion); the validation also warns about
 *   unsaved changes, since it files what is saved.
 */
(function () {
  "use strict";

  var form = document.querySelector("[data-ami-form]");
  var dirty = false;

  if (form) {
    var reached = form.querySelector("[name=hn_prerequisites_reached]");
    var forecastBox = form.querySelector("[data-hn-forecast]");
    var forecast = form.querySelector("[name=hn_prerequisites_forecast]");
    var syncForecast = function () {
      if (!reached || !forecastBox) {
        return;
      }
      var hide = reached.value !== "no" && !(forecast && forecast.value);
      forecastBox.classList.toggle("ami-hidden", hide);
    };
    if (reached) {
      reached.addEventListener("change", function () {
        if (reached.value === "yes" && forecast) {
          forecast.value = "";
        }
        syncForecast();
      });
    }
    syncForecast();

    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }

  document.querySelectorAll("form[data-confirm]").forEach(function (confirmed) {
    confirmed.addEventListener("submit", function (event) {
      var text = confirmed.getAttribute("data-confirm");
      if (dirty && confirmed.hasAttribute("data-ami-validate")) {
        text = "Des modifications ne sont pas enregistrées : la validation porte sur la version enregistrée. " + text;
      }
      if (!window.confirm(text)) {
        event.preventDefault();
        return;
      }
      dirty = false;
    });
  });
})();
