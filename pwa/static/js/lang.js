// The language chosen on this phone, applied before the modules read it (works offline).
// A classic script, not a module, so it runs before them; a file, not inline, for the CSP.
(function () {
  try {
    var lang = new URLSearchParams(location.search).get("lang") || localStorage.getItem("trao.lang");
    if (lang === "vi" || lang === "en") {
      document.documentElement.lang = lang;
      localStorage.setItem("trao.lang", lang);
    }
    if (location.search) history.replaceState(null, "", location.pathname);
  } catch (e) { /* storage refused: the page's own language stays */ }
})();
