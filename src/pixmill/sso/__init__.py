"""Single sign-on in the browser: the OpenID Connect authorization-code flow with PKCE, ending in a session."""
