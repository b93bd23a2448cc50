"""Passkeys (« clés d'accès »): WebAuthn credentials for agents and staff.

`ceremonies` makes the options and checks the browser's answers (py_webauthn),
`challenges` keeps each ceremony's challenge on the server, `relying_party` says
which site the passkeys belong to, `naming` names a new passkey after its device;
`routes` holds the agent's pages and sign-in.
"""
