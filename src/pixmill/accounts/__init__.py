"""Local accounts (issue 14): register, sign in and out, who am I, a user's API keys, admins' invites.

A domain above the API toolkit; who is calling and how credentials work is `pixmill.identity`, below it."""
