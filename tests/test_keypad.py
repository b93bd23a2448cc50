"""The keypad layout and its tokens, without a client."""

from collections import Counter

from cgos import keypad

SECRET = b"secret"


def token_for(layout, digit, secret=SECRET):
    """The token of one digit in one layout, as the page's key carries it."""
    return keypad.tokens(secret, layout)[digit]


def test_a_layout_has_ten_digits_and_two_blanks_in_three_rows_of_four():
    layout = keypad.Layout.new()
    cells = keypad.cells(SECRET, layout)
    assert len(cells) == keypad.ROWS * keypad.COLUMNS == 12
    assert sorted(c.digit for c in cells if c.digit) == list("0123456789")
    assert sum(c.digit is None for c in cells) == 2


def test_every_display_gets_a_new_id_and_new_tokens():
    first, second = keypad.Layout.new(), keypad.Layout.new()
    assert first.id != second.id
    assert {token_for(first, d) for d in "0123456789"}.isdisjoint({token_for(second, d) for d in "0123456789"})


def test_order_is_shuffled_over_many_layouts():
    first_cells = Counter(keypad.Layout.new().order[0] for _ in range(600))
    # Each of the 11 distinct symbols appears first sometimes: the order is not fixed.
    assert len(first_cells) == 11


def test_tokens_map_back_only_with_their_own_layout_and_key():
    layout, other = keypad.Layout.new(), keypad.Layout.new()
    tokens = [token_for(layout, d) for d in "482915"]
    assert keypad.decode(SECRET, layout, tokens) == "482915"
    assert keypad.decode(SECRET, other, tokens) is None
    assert keypad.decode(b"another secret", layout, tokens) is None
    assert keypad.decode(SECRET, layout, ["forged"]) is None


def test_tokens_do_not_reveal_digits():
    layout = keypad.Layout.new()
    tokens = [token_for(layout, d) for d in "0123456789"]
    assert len(set(tokens)) == 10
    assert not any(token.isdigit() for token in tokens)


def test_layout_from_session_is_checked():
    layout = keypad.Layout.new()
    assert keypad.Layout.from_dict(layout.to_dict()) == layout
    assert keypad.Layout.from_dict(None) is None
    assert keypad.Layout.from_dict({"id": "x", "order": "0123456789"}) is None
    assert keypad.Layout.from_dict({"id": "x", "order": "01234567890_"}) is None
    assert keypad.Layout.from_dict({"id": 3, "order": layout.order}) is None


def test_split_tokens_caps_what_a_browser_can_send():
    assert keypad.split_tokens(None) == []
    assert keypad.split_tokens(" a  b ") == ["a", "b"]
    assert len(keypad.split_tokens(" ".join("x" * 50))) == keypad.PIN_LENGTH + 1
