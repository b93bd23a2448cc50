"""An agent's credentials, in one place.

- `accounts`: finding an agent by numéro C.G.O.S or NIR;
- `hashing`: the pepper, bcrypt over the peppered secret, keyed digests;
- `checking`: comparing a typed secret with an agent's secrets (one bcrypt);
- `issuing`: a new provisional PIN, a new personal PIN;
- `limits`: the named limits that bound guessing (lockout, daily cap, per address…).

The rules that need no Flask (PIN weakness, the keypad, bcrypt itself) live
in plain modules: `cgos.pins`, `cgos.keypad`, `cgos.passwords`.
"""
