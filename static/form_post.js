// The OpenID Connect form_post answer: sends the form at once (its Continue button does
// the same without JavaScript).
(function () {
  var form = document.getElementById("oidc-form-post");
  if (form) {
    form.submit();
  }
})();
