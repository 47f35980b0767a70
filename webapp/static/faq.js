/* FAQ: adds a "Copy link" button beside each read-only link field.
   Without JavaScript the field still shows the full link, ready to select and copy. */
(function () {
  "use strict";

  function announce(status, message) {
    if (status) {
      status.textContent = message;
    }
  }

  function fallbackCopy(field) {
    field.focus();
    field.select();
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  document.querySelectorAll("input[data-copy-status]").forEach(function (field) {
    var status = document.getElementById(field.getAttribute("data-copy-status"));
    var button = document.createElement("button");
    button.type = "button";
    button.className = "faq-copy";
    button.textContent = "Copy link";
    button.addEventListener("click", function () {
      var copied = "Link copied.";
      var manual = "Could not copy: the link is selected, press Ctrl+C (or Cmd+C) to copy it.";
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { announce(status, copied); },
          function () { announce(status, fallbackCopy(field) ? copied : manual); }
        );
      } else {
        announce(status, fallbackCopy(field) ? copied : manual);
      }
    });
    field.insertAdjacentElement("afterend", button);
  });
}());
