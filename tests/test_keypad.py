"""The keypad layout and its tokens, without a client."""

from collections import Counter

from cgos import keypad

SECRET = b"secret"


def token_for(layout, digit, secret=SECRET):
    """The token of one digit in one layout, as the page's key carries it."""
    return keypad.tokens(secret, layout)[digit]


def test_a_layout_has_ten_digits_and_two_blanks_in_three_rows_of_four():
    layout = keypad.Layout.new(SECRET)
    cells = keypad.cells(SECRET, layout)
    assert len(cells) == keypad.ROWS * keypad.COLUMNS == 12
    assert sorted(c.digit for c in cells if c.digit) == list("0123456789")
    assert sum(c.digit is None for c in cells) == 2


def test_every_display_gets_a_new_id_and_new_tokens():
    first, second = keypad.Layout.new(SECRET), keypad.Layout.new(SECRET)
    assert first.id != second.id
    assert {token_for(first, d) for d in "0123456789"}.isdisjoint({token_for(second, d) for d in "0123456789"})


def test_order_is_shuffled_over_many_layouts():
    first_cells = Counter(keypad.Layout.new(SECRET).order[0] for _ in range(600))
    # Each of the 11 distinct symbols appears first sometimes: the order is not fixed.
    assert len(first_cells) == 11


def test_tokens_map_back_only_with_their_own_layout_and_key():
    layout, other = keypad.Layout.new(SECRET), keypad.Layout.new(SECRET)
    tokens = [token_for(layout, d) for d in "482915"]
    assert keypad.decode(SECRET, layout, tokens) == "482915"
    assert keypad.decode(SECRET, other, tokens) is None
    assert keypad.decode(b"another secret", layout, tokens) is None
    assert keypad.decode(SECRET, layout, ["forged"]) is None


def test_tokens_do_not_reveal_digits():
    layout = keypad.Layout.new(SECRET)
    tokens = [token_for(layout, d) for d in "0123456789"]
    assert len(set(tokens)) == 10
    assert not any(token.isdigit() for token in tokens)


def test_a_layout_id_stands_for_one_order_that_only_the_key_gives():
    layout = keypad.Layout.new(SECRET)
    assert keypad.Layout.of(SECRET, layout.id) == layout
    others = {keypad.Layout.of(f"key {n}".encode(), layout.id).order for n in range(50)}
    assert len(others) > 40, "another key gives another order"


def test_every_place_of_the_grid_takes_every_symbol_as_often():
    counts = Counter(keypad.Layout.new(SECRET).order[place] for _ in range(2200) for place in (0, 11))
    # 4 400 draws of 12 cells: 367 for each digit (sd 18), 733 for the two blanks (sd 25); bounds at 4.5 sd.
    assert all(285 < counts[digit] < 450 for digit in keypad.DIGITS)
    assert 620 < counts[keypad.BLANK] < 845


def test_split_tokens_caps_what_a_browser_can_send():
    assert keypad.split_tokens(None) == []
    assert keypad.split_tokens(" a  b ") == ["a", "b"]
    assert len(keypad.split_tokens(" ".join("x" * 50))) == keypad.PIN_LENGTH + 1
