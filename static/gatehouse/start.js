// The start page's "Sign in with Google": Google Identity Services calls
// gatehouseGoogleCredential() with an ID token, which is posted to the API as
// {"id_token": ...}; the JSON answer is shown on the page. No inline script, so the
// page can be given a Content-Security-Policy.
"use strict";

(function () {
  const section = document.getElementById("google");
  const status = document.getElementById("google-status");
  const answer = document.getElementById("google-answer");
  if (!section || !status || !answer) {
    return;
  }
  const endpoint = section.dataset.endpoint;

  function show(message, body) {
    status.textContent = message;
    answer.textContent = body === undefined ? "" : JSON.stringify(body, null, 2);
    answer.hidden = body === undefined;
  }

  window.gatehouseGoogleCredential = async function (response) {
    show(`Posting the ID token to ${endpoint}…`);
    try {
      const reply = await fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ id_token: response.credential }),
      });
      const text = await reply.text();
      let body;
      try {
        body = text ? JSON.parse(text) : null;
      } catch (error) {
        body = text;
      }
      const code = body && body.code ? ` (${body.code})` : "";
      show(`${endpoint} answered ${reply.status}${code}:`, body);
    } catch (error) {
      show(`The request to ${endpoint} failed: ${error.message}`);
    }
  };

  // Async scripts hold back "load", so by then Google's script has run or failed.
  window.addEventListener("load", function () {
    if (window.google && window.google.accounts && window.google.accounts.id) {
      status.textContent = "";
      return;
    }
    status.textContent =
      "Google's sign-in script did not load (offline, or blocked by the browser " +
      "or the network). The rest of this page works without it.";
    status.classList.add("warning");
  });
})();
