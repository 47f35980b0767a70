// A live character count under text areas the server limits (data-max-chars), so a long
// paste is never cut silently: the server refuses too-long text and says so; this only
// tells the reader sooner. Counts characters as the server does (code points, one per
// line break). Without script the counter's text states the limit.
(function () {
  "use strict";
  var format = function (n) { return n.toLocaleString("en-US"); };
  document.querySelectorAll("textarea[data-max-chars]").forEach(function (area) {
    var max = parseInt(area.getAttribute("data-max-chars"), 10);
    var counter = document.getElementById(area.getAttribute("data-counter"));
    if (!counter || !max) { return; }
    var update = function () {
      var count = Array.from(area.value).length;
      if (count > max) {
        counter.textContent = format(count) + " characters: " + format(count - max) +
          " over the limit of " + format(max) + ". Shorten it before sending.";
        counter.classList.add("over");
      } else {
        counter.textContent = format(count) + " of " + format(max) + " characters used.";
        counter.classList.remove("over");
      }
    };
    area.addEventListener("input", update);
    update();
  });
}());
