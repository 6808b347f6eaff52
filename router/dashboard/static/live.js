// Live pages without a build step: every few seconds the page fetches itself and swaps in the
// server's fresh markup for each element marked `data-live` (same id). The markup is the
// server's own escaped HTML for the same element, so it is safe to put back as it is.
// A list marked `data-newest` (a room) scrolls to its newest message, with the chat box in view.
// When a fetch fails, a banner says the page is not updating; it goes away when one works again.
// Optional: without JavaScript every page works, and a reload shows what is new.
(function () {
  "use strict";
  var PERIOD_MS = 3000;
  var status = document.getElementById("live-status");
  var newest = document.querySelector("[data-newest]");

  function showNewest() {
    var box = document.getElementById("say");
    if (newest && newest.lastElementChild) { newest.lastElementChild.scrollIntoView({block: "end"}); }
    if (box) { box.scrollIntoView({block: "end"}); }
  }
  if (newest && !location.hash.replace("#say", "")) { showNewest(); }

  // Nobody's people.yml zone is known: show hover times in the browser's own zone.
  function browserZone(root) {
    if (document.body.dataset.zone !== "default" || !window.Intl) { return; }
    var times = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var at = new Date(times[i].getAttribute("datetime"));
      if (!isNaN(at)) { times[i].title = at.toLocaleString(undefined, {timeZoneName: "short"}); }
    }
  }
  browserZone(document);
  var note = document.getElementById("zone-note");
  if (note && document.body.dataset.zone === "default" && window.Intl) {
    note.textContent = "Times on hover in your browser's zone (" +
      Intl.DateTimeFormat().resolvedOptions().timeZone + ").";
  }

  var live = document.querySelectorAll("[data-live][id]");
  // The page's own GET address (after a form's POST the address bar shows the form's).
  var source = document.body.dataset.liveUrl;
  if (!source || !live.length || !window.fetch || !window.DOMParser) { return; }

  function busy() {
    // Never swap under someone typing or with a form open: the next tick tries again.
    var active = document.activeElement;
    if (active && active !== document.body && active.closest("[data-live]") &&
        /^(INPUT|SELECT|TEXTAREA|BUTTON|SUMMARY)$/.test(active.tagName)) { return true; }
    return !!document.querySelector("[data-live] details[open]");
  }

  // A form's answer shown in an alert's row lives only in the page it was redirected to: keep it
  // across updates (in the same row, if the row is still there) until the person reloads.
  function answers(root) {
    var kept = [], notes = root.querySelectorAll(".note");
    for (var i = 0; i < notes.length; i++) {
      var row = notes[i].parentElement.closest("[id]");
      if (row && row !== root) { kept.push([row.id, notes[i]]); }
    }
    return kept;
  }
  function putBack(kept) {
    for (var i = 0; i < kept.length; i++) {
      var row = document.getElementById(kept[i][0]);
      var actions = row && row.querySelector(".actions");
      if (actions && !row.querySelector(".note")) { actions.parentNode.insertBefore(kept[i][1], actions); }
    }
  }

  function lost(yes) { if (status) { status.hidden = !yes; } }

  function tick() {
    if (document.hidden || busy()) { return; }
    fetch(source, {credentials: "same-origin"})
      .then(function (answer) {
        if (!answer.ok) { throw new Error("HTTP " + answer.status); }
        return answer.text();
      })
      .then(function (html) {
        lost(false);
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var grew = false;
        for (var i = 0; i < live.length; i++) {
          var old = document.getElementById(live[i].id);
          var now = fresh.getElementById(live[i].id);
          if (old && now && now.innerHTML !== old.innerHTML) {
            grew = grew || (old === newest);
            var kept = answers(old);
            old.innerHTML = now.innerHTML;
            browserZone(old);
            putBack(kept);
          }
        }
        if (grew) { newest = document.querySelector("[data-newest]"); showNewest(); }
      })
      .catch(function () { lost(true); });
  }
  window.setInterval(tick, PERIOD_MS);
}());
