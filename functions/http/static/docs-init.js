// Starts Swagger UI on the app's own OpenAPI document. A file rather than an inline
// script so the docs page's Content-Security-Policy can allow scripts from 'self' only.
window.addEventListener("load", function () {
  var page = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: page.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    // No badge fetched from validator.swagger.io, no configuration taken from the query string.
    validatorUrl: null,
    queryConfigEnabled: false,
    showExtensions: true,
    showCommonExtensions: true,
  });
});
