/* Switchboard pages: what the agent console and the dashboard share.
 *
 * The agent token is kept in this tab's sessionStorage and sent as an
 * "Authorization: Bearer" header on every request; there is no cookie, so another
 * site cannot make the browser act for the agent. Everything shown comes from
 * textContent, never from markup.
 */
"use strict";

window.Switchboard = (function () {
  const TOKEN_KEY = "switchboard.token";
  let skewMs = 0; // the server's clock minus this PC's clock

  /* Remember the server's time (ISO) so countdowns and dates follow the server's clock. */
  function serverTime(iso) {
    const at = Date.parse(iso || "");
    if (!isNaN(at)) {
      skewMs = at - Date.now();
    }
  }

  function now() {
    return Date.now() + skewMs;
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function setToken(value) {
    if (value) {
      sessionStorage.setItem(TOKEN_KEY, value);
    } else {
      sessionStorage.removeItem(TOKEN_KEY);
    }
  }

  /* fetch with the token; resolves to {status, data} (data: parsed JSON, text or null). */
  async function api(method, path, body, options) {
    const headers = { Authorization: "Bearer " + (token() || "") };
    const init = { method: method, headers: headers, cache: "no-store" };
    if (body !== undefined && body !== null) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    if (options && options.signal) {
      init.signal = options.signal;
    }
    const response = await fetch(path, init);
    const type = response.headers.get("Content-Type") || "";
    let data = null;
    if (type.startsWith("application/json")) {
      data = await response.json();
    } else if (response.status !== 204) {
      data = await response.text();
    }
    if (response.status === 401 && api.onUnauthorized) {
      api.onUnauthorized();
    }
    return { status: response.status, data: data };
  }
  api.onUnauthorized = null;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function errorText(result, fallback) {
    if (result && result.data && typeof result.data === "object" && result.data.error) {
      return result.data.error;
    }
    return fallback + " (HTTP " + (result ? result.status : "?") + ")";
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) {
      return "–";
    }
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) {
      return s + " s";
    }
    const m = Math.floor(s / 60);
    if (m < 60) {
      return m + " min " + (s % 60) + " s";
    }
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }

  function percent(ratio) {
    return ratio === null || ratio === undefined ? "–" : Math.round(ratio * 100) + "%";
  }

  function clock(iso) {
    if (!iso) {
      return "";
    }
    const d = new Date(iso);
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    if (d.toDateString() === new Date(now()).toDateString()) {
      return time;
    }
    return d.toLocaleDateString([], { month: "short", day: "numeric" }) + " " + time;
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      setTimeout(resolve, ms);
    });
  }

  /* Wire a sign-in form: on success calls onSignedIn(me) with GET /api/me's answer;
   * onSignedOut(message) when the token is dropped; beforeSignOut() (optional, async)
   * when the agent signs out, while the token still works. */
  function signIn(options) {
    const form = document.getElementById("signin-form");
    const input = document.getElementById("token");
    const error = document.getElementById("signin-error");
    const panel = document.getElementById("signin");

    async function attempt(value) {
      setToken(value);
      let result;
      try {
        result = await api("GET", "/api/me");
      } catch (e) {
        error.textContent = "The router cannot be reached: " + e.message;
        panel.hidden = false;
        return false;
      }
      if (result.status !== 200) {
        setToken(null);
        error.textContent =
          result.status === 401 ? "That token is not valid." : errorText(result, "Sign-in failed");
        panel.hidden = false;
        return false;
      }
      error.textContent = "";
      input.value = "";
      panel.hidden = true;
      options.onSignedIn(result.data);
      return true;
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const value = input.value.trim();
      if (value) {
        attempt(value);
      }
    });
    api.onUnauthorized = function () {
      setToken(null);
      options.onSignedOut("Your session ended: sign in again.");
      panel.hidden = false;
      input.focus();
    };
    const signOut = document.getElementById("sign-out");
    if (signOut) {
      signOut.addEventListener("click", async function () {
        if (options.beforeSignOut) {
          await options.beforeSignOut(); // still signed in: it may hand work back
        }
        setToken(null);
        options.onSignedOut("");
        panel.hidden = false;
        input.focus();
      });
    }
    const saved = token();
    if (saved) {
      attempt(saved);
    } else {
      panel.hidden = false;
      input.focus();
    }
  }

  return {
    api: api,
    clock: clock,
    duration: duration,
    el: el,
    errorText: errorText,
    now: now,
    percent: percent,
    serverTime: serverTime,
    signIn: signIn,
    sleep: sleep,
    token: token,
  };
})();
