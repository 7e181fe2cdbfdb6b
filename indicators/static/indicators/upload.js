/*
 * Pièces justificatives: send the upload form with XMLHttpRequest to show a progress bar, and delete a
 * document without reloading the page (so nothing typed elsewhere on the page is lost).
 * Progressive enhancement: without this script (or without FormData), both forms post normally and the
 * server answers with a redirect and its messages.
 * The server answers `Accept: application/json` posts with {message, errors, documents, html}; `html` is the
 * refreshed section (list, messages, forms), which replaces the current one.
 */
(function () {
  "use strict";

  // The partial is included once per value: the script tag may appear several times on a page.
  if (window.hopenEvidenceUpload) {
    return;
  }
  window.hopenEvidenceUpload = true;
  if (!window.FormData || !window.XMLHttpRequest || !document.addEventListener) {
    return;
  }

  function alertBox(text, level) {
    var box = document.createElement("div");
    box.className = "fr-alert fr-alert--" + level + " fr-alert--sm fr-mb-2w";
    if (level === "error") {
      box.setAttribute("role", "alert");
    }
    var paragraph = document.createElement("p");
    paragraph.textContent = text;
    box.appendChild(paragraph);
    return box;
  }

  function showMessages(section, texts, level) {
    var zone = section.querySelector("[data-evidence-feedback]");
    if (!zone) {
      return;
    }
    while (zone.firstChild) {
      zone.removeChild(zone.firstChild);
    }
    texts.forEach(function (text) {
      zone.appendChild(alertBox(text, level));
    });
    zone.setAttribute("tabindex", "-1");
    zone.focus();
  }

  function replaceSection(section, html) {
    var holder = document.createElement("template");
    holder.innerHTML = String(html).trim();
    var fresh = holder.content.querySelector("[data-evidence-section]");
    if (!fresh) {
      return false;
    }
    section.parentNode.replaceChild(fresh, section);
    var zone = fresh.querySelector("[data-evidence-feedback]");
    if (zone && zone.textContent.trim()) {
      zone.setAttribute("tabindex", "-1");
      zone.focus();
    }
    return true;
  }

  function checkFiles(form) {
    var input = form.querySelector('input[type="file"]');
    var files = input && input.files ? Array.prototype.slice.call(input.files) : [];
    if (!files.length) {
      return ["Choisissez au moins un fichier à déposer."];
    }
    var maxSize = parseInt(form.getAttribute("data-max-size"), 10);
    var maxDisplay = form.getAttribute("data-max-size-display") || "";
    var problems = [];
    files.forEach(function (file) {
      if (file.size === 0) {
        problems.push("Le fichier « " + file.name + " » est vide : déposez le document complet.");
      } else if (maxSize && file.size > maxSize) {
        problems.push("Le fichier « " + file.name + " » dépasse la taille maximale autorisée (" + maxDisplay + ").");
      }
    });
    return problems;
  }

  function send(form, section, isUpload) {
    var button = form.querySelector('button[type="submit"]');
    var progress = isUpload ? form.querySelector("[data-evidence-progress]") : null;
    var bar = progress ? progress.querySelector("progress") : null;
    var percent = progress ? progress.querySelector("[data-evidence-percent]") : null;

    function setProgress(value) {
      if (bar) {
        bar.value = value;
        bar.textContent = value + " %";
      }
      if (percent) {
        percent.textContent = value + " %";
      }
    }

    function finish() {
      if (button) {
        button.disabled = false;
      }
      form.removeAttribute("aria-busy");
      if (progress) {
        progress.hidden = true;
      }
    }

    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    if (progress) {
      setProgress(0);
      progress.hidden = false;
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable && event.total) {
          setProgress(Math.min(100, Math.round((event.loaded * 100) / event.total)));
        }
      });
    }
    request.addEventListener("load", function () {
      var data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch (error) {
        data = null;
      }
      if (data && data.html && replaceSection(section, data.html)) {
        return;
      }
      finish();
      var texts = [];
      if (data && data.errors && data.errors.length) {
        texts = data.errors;
      } else if (data && data.detail) {
        texts = [data.detail];
      } else if (request.responseURL && request.responseURL.indexOf("/compte/connexion/") !== -1) {
        texts = ["Votre session a expiré : reconnectez-vous (dans un autre onglet), puis déposez à nouveau vos fichiers."];
      } else {
        texts = [
          "La demande n'a pas abouti (erreur " + request.status + "). Rechargez la page pour vérifier la liste des pièces justificatives.",
        ];
      }
      showMessages(section, texts, "error");
    });
    request.addEventListener("error", function () {
      finish();
      showMessages(
        section,
        ["L'envoi a été interrompu (connexion perdue). Vérifiez votre connexion, puis réessayez."],
        "error"
      );
    });
    if (button) {
      button.disabled = true;
    }
    form.setAttribute("aria-busy", "true");
    request.send(new FormData(form));
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM") {
      return;
    }
    var isUpload = form.hasAttribute("data-evidence-upload");
    var isDelete = form.hasAttribute("data-evidence-delete");
    if (!isUpload && !isDelete) {
      return;
    }
    var section = form.closest("[data-evidence-section]");
    if (!section) {
      return;
    }
    if (isDelete) {
      var question = form.getAttribute("data-confirm");
      if (question && !window.confirm(question)) {
        event.preventDefault();
        return;
      }
    }
    if (isUpload) {
      var problems = checkFiles(form);
      if (problems.length) {
        event.preventDefault();
        showMessages(section, problems, "error");
        return;
      }
    }
    event.preventDefault();
    send(form, section, isUpload);
  });
})();
