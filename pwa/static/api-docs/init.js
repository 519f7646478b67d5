// Starts Swagger UI on the API documentation page (/api/v1/docs); a file, as the
// Content-Security-Policy allows no inline script.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.specUrl,
  domNode: root,
  deepLinking: true,
  // Calls made from the page would carry the reader's session cookie: reading only.
  supportedSubmitMethods: [],
});
