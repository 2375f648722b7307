"""Who is calling: principals, roles and scopes, users and their API keys (issue 14).

Below the API layer, so every domain's routes can ask who the caller is; the account routes themselves live in
the `accounts` domain above it."""
